// Policies from PowerShell (pim_policy_load, pim_policy_evaluate): the document goes in as JSON, the
// checked policy comes back as a SafeHandle, and each evaluation as the library's JSON. The rules
// are the library's: nothing here decides anything.

using System;
using System.Runtime.InteropServices;

namespace PimBridge.Interop
{
    /// <summary>Loads and evaluates policies; sends nothing.</summary>
    public static class PolicyNative
    {
        static PolicyNative() { NativeLibraryLocator.Register(); }

        /// <summary>
        /// Reads and checks a policy document (JSON). <paramref name="sourceName"/> (the file's path)
        /// starts every message; <paramref name="force"/> lets a rule approve every request. A bad
        /// document throws a PimNativeException with code InvalidPolicy, whose message lists every problem.
        /// </summary>
        public static PimPolicyHandle Load(string policyJson, string sourceName, bool force)
        {
            PimResult rc = NativeMethods.pim_policy_load(policyJson, sourceName, force, out PimPolicyHandle policy, out IntPtr err);
            PimNative.Check(rc, err);
            return policy;
        }

        /// <summary>
        /// Evaluates the policy against requests (a JSON array in the shape pim_list_pending hands
        /// out) with a context ({"callerId", "now"}); returns the library's JSON array of results.
        /// </summary>
        public static string Evaluate(PimPolicyHandle policy, string requestsJson, string contextJson)
        {
            PimResult rc = NativeMethods.pim_policy_evaluate(policy, requestsJson, contextJson, out IntPtr json, out IntPtr err);
            PimNative.Check(rc, err);
            return NativeString.Take(json);
        }
    }

    /// <summary>Strings the library hands out, copied and freed.</summary>
    internal static class NativeString
    {
        internal static string Take(IntPtr json)
        {
            try { return Marshal.PtrToStringUTF8(json); }
            finally { NativeMethods.pim_string_free(json); }
        }
    }
}
