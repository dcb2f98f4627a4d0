// The native handles, each freed by its own free function when PowerShell lets go of it.

using System;
using System.Runtime.InteropServices;

namespace PimBridge.Interop
{
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

    /// <summary>A pim_policy*, freed with pim_policy_free.</summary>
    public sealed class PimPolicyHandle : SafeHandle
    {
        public PimPolicyHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid => handle == IntPtr.Zero;
        protected override bool ReleaseHandle() { NativeMethods.pim_policy_free(handle); return true; }
    }

    /// <summary>A pim_log*, freed with pim_log_free (the file is not held open between appends).</summary>
    public sealed class PimLogHandle : SafeHandle
    {
        public PimLogHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid => handle == IntPtr.Zero;
        protected override bool ReleaseHandle() { NativeMethods.pim_log_free(handle); return true; }
    }
}
