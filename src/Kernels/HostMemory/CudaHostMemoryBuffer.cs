using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Testbed.Kernels.HostMemory;

/// <summary>
/// Pinned host memory (HostMm's arena) registered with a CUDA device (<c>cuMemHostRegister</c> with
/// <c>CU_MEMHOSTREGISTER_DEVICEMAP</c>) and seen as an ILGPU buffer whose <see cref="MemoryBuffer.NativePtr"/>
/// is its device address (<c>cuMemHostGetDevicePointer</c>), so kernels reach the memory in place,
/// across the link. Copies use ILGPU's CUDA copy; the registration ends when the buffer is disposed.
/// </summary>
internal sealed class CudaHostMemoryBuffer : MemoryBuffer, IHostMemoryBuffer
{
    public CudaHostMemoryBuffer(CudaAccelerator accelerator, IntPtr host, long length, int elementSize)
        : base(accelerator, length, elementSize)
    {
        HostPointer = host;
        using var binding = accelerator.BindScoped();
        CudaException.ThrowIfFailed(CudaAPI.CurrentAPI.MemHostRegister(host, new IntPtr(LengthInBytes), MemHostRegisterFlags.CU_MEMHOSTREGISTER_DEVICEMAP));
        var status = CudaAPI.CurrentAPI.MemHostGetDevicePointer(out var device, host, 0);
        if (status != CudaError.CUDA_SUCCESS)
        {
            CudaAPI.CurrentAPI.MemHostUnregister(host);
            CudaException.ThrowIfFailed(status);
        }

        NativePtr = device;
    }

    /// <inheritdoc/>
    public IntPtr HostPointer { get; }

    /// <inheritdoc/>
    protected override void MemSet(AcceleratorStream stream, byte value, in ArrayView<byte> targetView) =>
        CudaMemoryBuffer.CudaMemSet(stream as CudaStream, value, targetView);

    /// <inheritdoc/>
    protected override void CopyFrom(AcceleratorStream stream, in ArrayView<byte> sourceView, in ArrayView<byte> targetView) =>
        CudaMemoryBuffer.CudaCopy(stream as CudaStream, sourceView, targetView);

    /// <inheritdoc/>
    protected override void CopyTo(AcceleratorStream stream, in ArrayView<byte> sourceView, in ArrayView<byte> targetView) =>
        CudaMemoryBuffer.CudaCopy(stream as CudaStream, sourceView, targetView);

    /// <inheritdoc/>
    protected override void DisposeAcceleratorObject(bool disposing)
    {
        var status = CudaAPI.CurrentAPI.MemHostUnregister(HostPointer);
        if (disposing)
        {
            CudaException.ThrowIfFailed(status);
        }

        NativePtr = IntPtr.Zero;
    }
}
