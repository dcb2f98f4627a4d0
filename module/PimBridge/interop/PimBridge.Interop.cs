// The interop layer between the PimBridge module and the native pim_bridge library.
//
// Compiled once by build.ps1 (Add-Type -OutputAssembly) into PimBridge.Interop.dll, which ships in
// the module: nothing is compiled at import, and it works where Add-Type is blocked. It finds the
// native library next to itself (runtimes/<rid>/native/), honours PIMBRIDGE_NATIVE_LIB, wraps handles
// in SafeHandles, marshals strings as UTF-8, and turns native errors into PimNativeException.
// The token crosses as a SecureString and exists in plain text only in an unmanaged buffer that is
// zeroed right after the call.

using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security;

namespace PimBridge.Interop
{
    /// <summary>Result codes of the C ABI (pim_result in include/pim_bridge.h).</summary>
    public enum PimResult : uint
    {
        Ok = 0,
        Pending = 1,
        NullParameter = 7000,
        InvalidUtf8 = 7001,
        InvalidOptions = 7002,
        InvalidHandle = 7003,
        Panic = 7004,
        Cancelled = 7005,
        InvalidInput = 7006,
        InvalidId = 7100,
        InvalidJustification = 7101,
        InsecureUri = 7102,
        MissingToken = 7103,
        InvalidToken = 7104,
        TokenExpired = 7105,
        MissingScope = 7106,
        AppOnlyToken = 7107,
        Unauthorized = 7200,
        Forbidden = 7201,
        NotFound = 7202,
        AlreadyDecided = 7203,
        SelfApproval = 7204,
        NotAssignedToMe = 7205,
        BadRequest = 7206,
        Throttled = 7207,
        ServiceError = 7208,
        Network = 7209,
        Timeout = 7210,
        InvalidResponse = 7211,
        ConnectionLost = 7212,
    }

    /// <summary>An error from the native library, with the service's details.</summary>
    public sealed class PimNativeException : Exception
    {
        public PimResult Code { get; }
        public int HttpStatus { get; }
        public string ServiceCode { get; }
        public string RequestId { get; }

        public PimNativeException(PimResult code, string message, int httpStatus, string serviceCode, string requestId)
            : base(message)
        {
            Code = code;
            HttpStatus = httpStatus;
            ServiceCode = string.IsNullOrEmpty(serviceCode) ? null : serviceCode;
            RequestId = string.IsNullOrEmpty(requestId) ? null : requestId;
        }
    }

    /// <summary>A pim_client*, freed with pim_client_free.</summary>
    public sealed class PimClientHandle : SafeHandle
    {
        public PimClientHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid => handle == IntPtr.Zero;
        protected override bool ReleaseHandle() { NativeMethods.pim_client_free(handle); return true; }
    }

    /// <summary>A pim_op*, freed (and cancelled if still running) with pim_op_free.</summary>
    public sealed class PimOpHandle : SafeHandle
    {
        public PimOpHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid => handle == IntPtr.Zero;
        protected override bool ReleaseHandle() { NativeMethods.pim_op_free(handle); return true; }
    }

    /// <summary>The native functions, declared as include/pim_bridge.h declares them.</summary>
    internal static class NativeMethods
    {
        internal const string Library = "pim_bridge";

        [DllImport(Library)] internal static extern PimResult pim_client_new([MarshalAs(UnmanagedType.LPUTF8Str)] string options_json, out PimClientHandle client_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern void pim_client_free(IntPtr client);
        [DllImport(Library)] internal static extern PimResult pim_list_pending(PimClientHandle client, IntPtr token, [MarshalAs(UnmanagedType.LPUTF8Str)] string options_json, out PimOpHandle op_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_approve(PimClientHandle client, IntPtr graph_token, IntPtr arm_token, [MarshalAs(UnmanagedType.LPUTF8Str)] string requests_json, [MarshalAs(UnmanagedType.LPUTF8Str)] string justification, out PimOpHandle op_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_deny(PimClientHandle client, IntPtr graph_token, IntPtr arm_token, [MarshalAs(UnmanagedType.LPUTF8Str)] string requests_json, [MarshalAs(UnmanagedType.LPUTF8Str)] string justification, out PimOpHandle op_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_op_wait(PimOpHandle op, uint timeout_ms);
        [DllImport(Library)] internal static extern PimResult pim_op_progress(PimOpHandle op, out ulong done_out, out ulong total_out);
        [DllImport(Library)] internal static extern PimResult pim_op_take_results(PimOpHandle op, out IntPtr json_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_op_error(PimOpHandle op, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_op_cancel(PimOpHandle op);
        [DllImport(Library)] internal static extern void pim_op_free(IntPtr op);
        [DllImport(Library)] internal static extern void pim_string_free(IntPtr s);
        [DllImport(Library)] internal static extern PimResult pim_error_code(IntPtr err);
        [DllImport(Library)] internal static extern ushort pim_error_http_status(IntPtr err);
        [DllImport(Library)] internal static extern IntPtr pim_error_service_code(IntPtr err);
        [DllImport(Library)] internal static extern IntPtr pim_error_message(IntPtr err);
        [DllImport(Library)] internal static extern IntPtr pim_error_request_id(IntPtr err);
        [DllImport(Library)] internal static extern void pim_error_free(IntPtr err);
        [DllImport(Library)] internal static extern PimResult pim_token_info(IntPtr token, out IntPtr json_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern IntPtr pim_version();
    }

    /// <summary>Finds the native library relative to this assembly, never the process's folder.</summary>
    public static class NativeLibraryLocator
    {
        private static bool registered;
        private static readonly object Gate = new object();

        public const string OverrideVariable = "PIMBRIDGE_NATIVE_LIB";

        /// <summary>The runtime identifier folder this process needs, e.g. linux-x64.</summary>
        public static string Rid
        {
            get
            {
                string os = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "win"
                    : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "osx" : "linux";
                string arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
                return os + "-" + arch;
            }
        }

        public static string FileName =>
            RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "pim_bridge.dll"
            : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "libpim_bridge.dylib" : "libpim_bridge.so";

        /// <summary>Where the library is looked for: the override, or runtimes/RID/native beside this assembly.</summary>
        public static string ExpectedPath
        {
            get
            {
                string overridePath = Environment.GetEnvironmentVariable(OverrideVariable);
                if (!string.IsNullOrEmpty(overridePath)) return overridePath;
                string dir = Path.GetDirectoryName(typeof(NativeLibraryLocator).Assembly.Location) ?? ".";
                return Path.Combine(dir, "runtimes", Rid, "native", FileName);
            }
        }

        public static void Register()
        {
            lock (Gate)
            {
                if (registered) return;
                NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLocator).Assembly, Resolve);
                registered = true;
            }
        }

        private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
        {
            if (name != NativeMethods.Library) return IntPtr.Zero;
            string path = ExpectedPath;
            if (!File.Exists(path))
            {
                throw new DllNotFoundException(string.Format(
                    "The PimBridge native library was not found for {0} ({1}) at '{2}'. " +
                    "Build it with 'pwsh ./build.ps1' from a clone of the PimBridge repository (it needs Rust 1.85+), " +
                    "or point the {3} environment variable at a built {4}.",
                    RuntimeInformation.OSDescription.Trim(), Rid, path, OverrideVariable, FileName));
            }
            return NativeLibrary.Load(path);
        }
    }

    /// <summary>What PowerShell calls: SafeHandles, strings and exceptions instead of pointers.</summary>
    public static class PimNative
    {
        static PimNative() { NativeLibraryLocator.Register(); }

        public static string Version => Marshal.PtrToStringUTF8(NativeMethods.pim_version());

        public static PimClientHandle CreateClient(string optionsJson)
        {
            PimResult rc = NativeMethods.pim_client_new(optionsJson, out PimClientHandle client, out IntPtr err);
            Check(rc, err);
            return client;
        }

        public static PimOpHandle ListPending(PimClientHandle client, SecureString token, string optionsJson)
        {
            return WithToken(token, t =>
            {
                PimResult rc = NativeMethods.pim_list_pending(client, t, optionsJson, out PimOpHandle op, out IntPtr err);
                Check(rc, err);
                return op;
            });
        }

        /// <summary>Approves requests of any surfaces; either token may be null when no request needs it.</summary>
        public static PimOpHandle Approve(PimClientHandle client, SecureString graphToken, SecureString armToken, string requestsJson, string justification)
        {
            return WithOptionalToken(graphToken, g => WithOptionalToken(armToken, a =>
            {
                PimResult rc = NativeMethods.pim_approve(client, g, a, requestsJson, justification, out PimOpHandle op, out IntPtr err);
                Check(rc, err);
                return op;
            }));
        }

        /// <summary>Denies requests of any surfaces; either token may be null when no request needs it.</summary>
        public static PimOpHandle Deny(PimClientHandle client, SecureString graphToken, SecureString armToken, string requestsJson, string justification)
        {
            return WithOptionalToken(graphToken, g => WithOptionalToken(armToken, a =>
            {
                PimResult rc = NativeMethods.pim_deny(client, g, a, requestsJson, justification, out PimOpHandle op, out IntPtr err);
                Check(rc, err);
                return op;
            }));
        }

        /// <summary>Waits up to timeoutMs; true once the operation has finished.</summary>
        public static bool Wait(PimOpHandle op, int timeoutMs)
        {
            PimResult rc = NativeMethods.pim_op_wait(op, (uint)Math.Max(0, timeoutMs));
            if (rc == PimResult.Ok) return true;
            if (rc == PimResult.Pending) return false;
            throw new PimNativeException(rc, "Waiting on the operation failed: " + rc, 0, null, null);
        }

        /// <summary>Done and total (0 while unknown), as a two-element array.</summary>
        public static ulong[] Progress(PimOpHandle op)
        {
            Check(NativeMethods.pim_op_progress(op, out ulong done, out ulong total), IntPtr.Zero);
            return new[] { done, total };
        }

        /// <summary>The results produced since the last call, as a JSON array.</summary>
        public static string TakeResults(PimOpHandle op)
        {
            PimResult rc = NativeMethods.pim_op_take_results(op, out IntPtr json, out IntPtr err);
            Check(rc, err);
            try { return Marshal.PtrToStringUTF8(json) ?? "[]"; }
            finally { NativeMethods.pim_string_free(json); }
        }

        /// <summary>The error that ended the operation, or null if it succeeded or still runs.</summary>
        public static PimNativeException GetError(PimOpHandle op)
        {
            PimResult rc = NativeMethods.pim_op_error(op, out IntPtr err);
            if (rc == PimResult.Ok || rc == PimResult.Pending) return null;
            return ToException(rc, err);
        }

        public static void Cancel(PimOpHandle op)
        {
            if (op != null && !op.IsInvalid && !op.IsClosed) NativeMethods.pim_op_cancel(op);
        }

        /// <summary>The token's claims as JSON (never the token itself).</summary>
        public static string TokenInfo(SecureString token)
        {
            return WithToken(token, t =>
            {
                PimResult rc = NativeMethods.pim_token_info(t, out IntPtr json, out IntPtr err);
                Check(rc, err);
                try { return Marshal.PtrToStringUTF8(json); }
                finally { NativeMethods.pim_string_free(json); }
            });
        }

        private static void Check(PimResult rc, IntPtr err)
        {
            if (rc != PimResult.Ok) throw ToException(rc, err);
        }

        private static PimNativeException ToException(PimResult rc, IntPtr err)
        {
            if (err == IntPtr.Zero) return new PimNativeException(rc, "The native call failed: " + rc, 0, null, null);
            try
            {
                return new PimNativeException(
                    NativeMethods.pim_error_code(err),
                    Marshal.PtrToStringUTF8(NativeMethods.pim_error_message(err)),
                    NativeMethods.pim_error_http_status(err),
                    Marshal.PtrToStringUTF8(NativeMethods.pim_error_service_code(err)),
                    Marshal.PtrToStringUTF8(NativeMethods.pim_error_request_id(err)));
            }
            finally { NativeMethods.pim_error_free(err); }
        }

        /// <summary>As WithToken, but a null token is passed as NULL.</summary>
        private static T WithOptionalToken<T>(SecureString token, Func<IntPtr, T> call)
        {
            return token == null ? call(IntPtr.Zero) : WithToken(token, call);
        }

        /// <summary>
        /// Copies the token into a zeroed-after-use unmanaged UTF-8 buffer for the call. Tokens are
        /// ASCII (base64url and dots), so each UTF-16 unit becomes one byte; anything else is refused.
        /// </summary>
        private static T WithToken<T>(SecureString token, Func<IntPtr, T> call)
        {
            if (token == null || token.Length == 0)
                throw new PimNativeException(PimResult.MissingToken, "No access token was given.", 0, null, null);
            IntPtr wide = IntPtr.Zero, utf8 = IntPtr.Zero;
            int length = token.Length;
            try
            {
                wide = Marshal.SecureStringToGlobalAllocUnicode(token);
                utf8 = Marshal.AllocHGlobal(length + 1);
                for (int i = 0; i < length; i++)
                {
                    short c = Marshal.ReadInt16(wide, i * 2);
                    if (c <= 0 || c > 0x7e)
                        throw new PimNativeException(PimResult.InvalidToken, "The access token contains characters a token cannot have.", 0, null, null);
                    Marshal.WriteByte(utf8, i, (byte)c);
                }
                Marshal.WriteByte(utf8, length, 0);
                return call(utf8);
            }
            finally
            {
                if (utf8 != IntPtr.Zero)
                {
                    for (int i = 0; i <= length; i++) Marshal.WriteByte(utf8, i, 0);
                    Marshal.FreeHGlobal(utf8);
                }
                if (wide != IntPtr.Zero) Marshal.ZeroFreeGlobalAllocUnicode(wide);
            }
        }
    }
}
