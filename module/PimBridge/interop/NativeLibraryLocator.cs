// Finds the native library relative to this assembly (runtimes/<rid>/native/), never the process's
// folder; honours PIMBRIDGE_NATIVE_LIB; says what it looked for when the library is missing, and
// refuses a library that implements another C ABI version.

using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace PimBridge.Interop
{
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

        private delegate uint AbiVersionFunction();

        private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
        {
            if (name != NativeMethods.Library) return IntPtr.Zero;
            string path = ExpectedPath;
            if (!File.Exists(path))
            {
                throw new DllNotFoundException(string.Format(
                    "The PimBridge native library was not found for {0} ({1}) at '{2}'. " +
                    "Build it with 'pwsh ./build.ps1' from a clone of the PimBridge repository (it needs Rust 1.89+), " +
                    "or point the {3} environment variable at a built {4}.",
                    RuntimeInformation.OSDescription.Trim(), Rid, path, OverrideVariable, FileName));
            }
            IntPtr library = NativeLibrary.Load(path);
            uint? version = null;
            if (NativeLibrary.TryGetExport(library, "pim_abi_version", out IntPtr function))
            {
                version = Marshal.GetDelegateForFunctionPointer<AbiVersionFunction>(function)();
            }
            if (version != PimAbi.Version)
            {
                NativeLibrary.Free(library);
                throw new PimAbiMismatchException(path, version, PimAbi.Version);
            }
            return library;
        }
    }
}
