// Native errors as .NET exceptions. An operation's failure (a pim_error object) and one request's
// failure (the error of a result, in JSON) carry the same fields, and become the same exception.

using System;
using System.Collections;

namespace PimBridge.Interop
{
    /// <summary>An error from the native library, with the service's details.</summary>
    public sealed class PimNativeException : Exception
    {
        public PimResult Code { get; }
        public int HttpStatus { get; }
        public string ServiceCode { get; }
        public string RequestId { get; }
        /// <summary>A claims challenge's claims (base64 JSON) for a TokenChallenge, to pass to the next sign-in; null otherwise.</summary>
        public string Claims { get; }

        public PimNativeException(PimResult code, string message, int httpStatus, string serviceCode, string requestId)
            : this(code, message, httpStatus, serviceCode, requestId, null)
        {
        }

        public PimNativeException(PimResult code, string message, int httpStatus, string serviceCode, string requestId, string claims)
            : base(message)
        {
            Code = code;
            HttpStatus = httpStatus;
            ServiceCode = string.IsNullOrEmpty(serviceCode) ? null : serviceCode;
            RequestId = string.IsNullOrEmpty(requestId) ? null : requestId;
            Claims = string.IsNullOrEmpty(claims) ? null : claims;
        }

        /// <summary>The error of one result, as parsed from its JSON: {kind, code, httpStatus, serviceCode, message, requestId} and, for a TokenChallenge, claims.</summary>
        public static PimNativeException FromResult(IDictionary error)
        {
            return new PimNativeException(
                (PimResult)Convert.ToUInt32(error["code"] ?? PimResult.ServiceError),
                error["message"] as string,
                Convert.ToInt32(error["httpStatus"] ?? 0),
                error["serviceCode"] as string,
                error["requestId"] as string,
                error.Contains("claims") ? error["claims"] as string : null);
        }
    }

    /// <summary>The native library found implements another C ABI than this assembly was built for.</summary>
    public sealed class PimAbiMismatchException : Exception
    {
        public string LibraryPath { get; }
        /// <summary>The library's ABI version; null when it reports none (built before pim_abi_version existed).</summary>
        public uint? LibraryVersion { get; }
        public uint ExpectedVersion { get; }

        public PimAbiMismatchException(string libraryPath, uint? libraryVersion, uint expectedVersion)
            : base(string.Format(
                "The PimBridge native library '{0}' {1}, but this module needs C ABI version {2}. " +
                "Build the library and the module together with 'pwsh ./build.ps1', or point the {3} environment variable at a library of ABI version {2}.",
                libraryPath,
                libraryVersion.HasValue ? "implements C ABI version " + libraryVersion.Value : "reports no C ABI version (it predates pim_abi_version)",
                expectedVersion, NativeLibraryLocator.OverrideVariable))
        {
            LibraryPath = libraryPath;
            LibraryVersion = libraryVersion;
            ExpectedVersion = expectedVersion;
        }
    }
}
