using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.OpenCL;

namespace Testbed.Kernels.HostMemory;

/// <summary>
/// Pinned host memory (HostMm's arena) wrapped in an OpenCL buffer created with
/// <c>CL_MEM_USE_HOST_PTR</c>, so the device uses the host's bytes (ILGPU has no SVM). The
/// <see cref="MemoryBuffer.NativePtr"/> is the <c>cl_mem</c>, as for ILGPU's own OpenCL buffers, so kernels
/// and ILGPU's copies take it unchanged; the host copies into <see cref="HostPointer"/> directly.
/// </summary>
internal sealed class OpenClHostMemoryBuffer : MemoryBuffer, IHostMemoryBuffer
{
    public OpenClHostMemoryBuffer(CLAccelerator accelerator, IntPtr host, long length, int elementSize)
        : base(accelerator, length, elementSize)
    {
        HostPointer = host;
        CLException.ThrowIfFailed(CLAPI.CurrentAPI.CreateBuffer(
            accelerator.NativePtr,
            CLBufferFlags.CL_MEM_READ_WRITE | CLBufferFlags.CL_MEM_USE_HOST_PTR,
            new IntPtr(Math.Max(LengthInBytes, 1)),
            host,
            out var buffer));
        NativePtr = buffer;
    }

    /// <inheritdoc/>
    public IntPtr HostPointer { get; }

    /// <inheritdoc/>
    protected override void MemSet(AcceleratorStream stream, byte value, in ArrayView<byte> targetView) =>
        CLMemoryBuffer.CLMemSet((CLStream)stream, value, targetView);

    /// <inheritdoc/>
    protected override void CopyFrom(AcceleratorStream stream, in ArrayView<byte> sourceView, in ArrayView<byte> targetView) =>
        CLMemoryBuffer.CLCopy((CLStream)stream, sourceView, targetView);

    /// <inheritdoc/>
    protected override void CopyTo(AcceleratorStream stream, in ArrayView<byte> sourceView, in ArrayView<byte> targetView) =>
        CLMemoryBuffer.CLCopy((CLStream)stream, sourceView, targetView);

    /// <inheritdoc/>
    protected override void DisposeAcceleratorObject(bool disposing)
    {
        var status = CLAPI.CurrentAPI.ReleaseBuffer(NativePtr);
        if (disposing)
        {
            CLException.ThrowIfFailed(status);
        }

        NativePtr = IntPtr.Zero;
    }
}
