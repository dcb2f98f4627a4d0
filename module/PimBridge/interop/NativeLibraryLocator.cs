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

        /// <summary>The runtime identifiers a package carries a library for, one folder each under runtimes/.</summary>
        public static readonly string[] KnownRids = { "linux-x64", "linux-arm64", "win-x64", "win-arm64", "osx-x64", "osx-arm64" };

        /// <summary>The runtime identifier folder this process needs, e.g. linux-x64.</summary>
        public static string Rid
        {
            get
            {
                string os = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "win"
                    : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "osx" : "linux";
                return RidFor(os, RuntimeInformation.ProcessArchitecture);
            }
        }

        /// <summary>The runtime identifier for an OS ("win", "osx", "linux") and an architecture, e.g. osx-arm64.</summary>
        public static string RidFor(string os, Architecture architecture) =>
            os + "-" + architecture.ToString().ToLowerInvariant();

        /// <summary>The library's file name on this process's OS.</summary>
        public static string FileName => FileNameFor(Rid);

        /// <summary>
        /// The library's file name for a runtime identifier: pim_bridge.dll (win-*),
        /// libpim_bridge.dylib (osx-*), libpim_bridge.so (anything else, as linux-*).
        /// </summary>
        public static string FileNameFor(string rid)
        {
            if (rid == null) throw new ArgumentNullException(nameof(rid));
            if (rid.StartsWith("win-", StringComparison.OrdinalIgnoreCase)) return "pim_bridge.dll";
            if (rid.StartsWith("osx-", StringComparison.OrdinalIgnoreCase)) return "libpim_bridge.dylib";
            return "libpim_bridge.so";
        }

        /// <summary>Where the library is looked for: the override, or runtimes/RID/native beside this assembly.</summary>
        public static string ExpectedPath =>
            CandidatePath(
                Path.GetDirectoryName(typeof(NativeLibraryLocator).Assembly.Location) ?? ".",
                Rid,
                Environment.GetEnvironmentVariable(OverrideVariable));

        /// <summary>
        /// Where the library is looked for, given the folder of this assembly, a runtime identifier and
        /// the override (PIMBRIDGE_NATIVE_LIB; null or empty for none): the override when there is one,
        /// else assemblyDir/runtimes/RID/native/FILE with FILE as <see cref="FileNameFor"/> names it.
        /// </summary>
        public static string CandidatePath(string assemblyDir, string rid, string overridePath)
        {
            if (!string.IsNullOrEmpty(overridePath)) return overridePath;
            return Path.Combine(assemblyDir, "runtimes", rid, "native", FileNameFor(rid));
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
