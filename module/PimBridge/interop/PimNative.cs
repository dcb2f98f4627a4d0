// What PowerShell calls: SafeHandles, strings and exceptions instead of pointers. The token crosses
// as a SecureString and exists in plain text only in an unmanaged buffer that is zeroed right after
// the call.

using System;
using System.Runtime.InteropServices;
using System.Security;

namespace PimBridge.Interop
{
    /// <summary>What PowerShell calls: SafeHandles, strings and exceptions instead of pointers.</summary>
    public static class PimNative
    {
        static PimNative() { NativeLibraryLocator.Register(); }

        public static string Version => Marshal.PtrToStringUTF8(NativeMethods.pim_version());

        /// <summary>The PIM surfaces the library knows, as JSON: name, service ("graph" or "arm"), readScopes, decideScopes.</summary>
        /// <remarks>A method, not a property: PowerShell hides what a property getter throws (a missing library).</remarks>
        public static string GetSurfaces() => Marshal.PtrToStringUTF8(NativeMethods.pim_surfaces());

        /// <summary>The surface a request belongs to, as the library decides it: the surface named (any case), else the one the id points to; null for an unknown name.</summary>
        public static string ResolveSurface(string approvalId, string surface)
        {
            return Marshal.PtrToStringUTF8(NativeMethods.pim_surface_resolve(approvalId ?? string.Empty, surface));
        }

        public static PimClientHandle CreateClient(string optionsJson)
        {
            PimResult rc = NativeMethods.pim_client_new(optionsJson, out PimClientHandle client, out IntPtr err);
            Check(rc, err);
            return client;
        }

        /// <summary>
        /// A second handle on the same client whose operations record a trace at this level
        /// (0 none, 1 waits, 2 calls, 3 calls with headers); free it as any client.
        /// </summary>
        public static PimClientHandle WithTrace(PimClientHandle client, int level)
        {
            PimResult rc = NativeMethods.pim_client_with_trace(client, (uint)Math.Max(0, level), out PimClientHandle traced, out IntPtr err);
            Check(rc, err);
            return traced;
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
            return StartDecision(graphToken, armToken, justification, (IntPtr g, IntPtr a, out PimOpHandle op, out IntPtr err) => NativeMethods.pim_approve(client, g, a, requestsJson, justification, out op, out err));
        }

        /// <summary>Denies requests of any surfaces; either token may be null when no request needs it.</summary>
        public static PimOpHandle Deny(PimClientHandle client, SecureString graphToken, SecureString armToken, string requestsJson, string justification)
        {
            return StartDecision(graphToken, armToken, justification, (IntPtr g, IntPtr a, out PimOpHandle op, out IntPtr err) => NativeMethods.pim_deny(client, g, a, requestsJson, justification, out op, out err));
        }

        /// <summary>
        /// Starts approving requests pushed while the operation runs (Push, then CloseInput); either
        /// token may be null when no request needs it, not both. A token that cannot decide a surface
        /// fails that surface's requests, each with why, and sends nothing for them.
        /// </summary>
        public static PimOpHandle ApproveStream(PimClientHandle client, SecureString graphToken, SecureString armToken, string justification)
        {
            return StartDecision(graphToken, armToken, justification, (IntPtr g, IntPtr a, out PimOpHandle op, out IntPtr err) => NativeMethods.pim_approve_stream(client, g, a, justification, out op, out err));
        }

        /// <summary>Starts denying requests pushed while the operation runs; as ApproveStream.</summary>
        public static PimOpHandle DenyStream(PimClientHandle client, SecureString graphToken, SecureString armToken, string justification)
        {
            return StartDecision(graphToken, armToken, justification, (IntPtr g, IntPtr a, out PimOpHandle op, out IntPtr err) => NativeMethods.pim_deny_stream(client, g, a, justification, out op, out err));
        }

        /// <summary>
        /// Hands more requests (a JSON array as Approve takes) to a stream operation, taken whole or
        /// refused whole: InputClosed after CloseInput or Cancel, NotAStream for another operation.
        /// </summary>
        public static void Push(PimOpHandle op, string requestsJson)
        {
            PimResult rc = NativeMethods.pim_op_push(op, requestsJson, out IntPtr err);
            Check(rc, err);
        }

        /// <summary>Ends a stream operation's input: what was pushed is still decided and reported. Closing twice is fine.</summary>
        public static void CloseInput(PimOpHandle op)
        {
            Check(NativeMethods.pim_op_close_input(op), IntPtr.Zero);
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

        /// <summary>The operation's trace since the last call, as JSON: {"dropped": N, "events": [...]}.</summary>
        public static string TakeTrace(PimOpHandle op)
        {
            PimResult rc = NativeMethods.pim_op_take_trace(op, out IntPtr json, out IntPtr err);
            Check(rc, err);
            try { return Marshal.PtrToStringUTF8(json) ?? "{}"; }
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

        /// <summary>
        /// A C string ends at its first NUL: a justification holding one would reach the library cut
        /// short, and be sent so. Refused here, before any call, as the library refuses it.
        /// </summary>
        private static void RefuseNul(string justification)
        {
            int at = justification == null ? -1 : justification.IndexOf('\0');
            if (at >= 0)
                throw new PimNativeException(PimResult.InvalidJustification,
                    "The justification contains a NUL character (at character " + at + "); it would be cut there. Remove it.", 0, null, null);
        }

        internal static void Check(PimResult rc, IntPtr err)
        {
            if (rc != PimResult.Ok) throw ToException(rc, err);
        }

        /// <summary>A pim_error object as an exception (and the object freed).</summary>
        internal static PimNativeException ToException(PimResult rc, IntPtr err)
        {
            if (err == IntPtr.Zero) return new PimNativeException(rc, "The native call failed: " + rc, 0, null, null);
            try
            {
                return new PimNativeException(
                    NativeMethods.pim_error_code(err),
                    Marshal.PtrToStringUTF8(NativeMethods.pim_error_message(err)),
                    NativeMethods.pim_error_http_status(err),
                    Marshal.PtrToStringUTF8(NativeMethods.pim_error_service_code(err)),
                    Marshal.PtrToStringUTF8(NativeMethods.pim_error_request_id(err)),
                    Marshal.PtrToStringUTF8(NativeMethods.pim_error_claims(err)));
            }
            finally { NativeMethods.pim_error_free(err); }
        }

        // One native call that starts deciding (pim_approve, pim_deny and their stream forms), with
        // the tokens copied into unmanaged memory for it and zeroed after.
        private delegate PimResult DecisionStart(IntPtr graphToken, IntPtr armToken, out PimOpHandle op, out IntPtr err);

        private static PimOpHandle StartDecision(SecureString graphToken, SecureString armToken, string justification, DecisionStart start)
        {
            RefuseNul(justification);
            return WithOptionalToken(graphToken, g => WithOptionalToken(armToken, a =>
            {
                PimResult rc = start(g, a, out PimOpHandle op, out IntPtr err);
                Check(rc, err);
                return op;
            }));
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
