namespace Testbed.Kernels.HostMemory;

/// <summary>
/// An ILGPU buffer of a device accelerator that is really pinned host memory mapped into the device,
/// so the host can copy into it with a plain <c>memcpy</c> at <see cref="HostPointer"/>.
/// </summary>
internal interface IHostMemoryBuffer
{
    /// <summary>The host address of the buffer's first byte.</summary>
    IntPtr HostPointer { get; }
}
