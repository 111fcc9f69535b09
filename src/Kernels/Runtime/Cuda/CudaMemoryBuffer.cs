using Testbed.Kernels.Cuda.Native;

namespace Testbed.Kernels.Cuda;

/// <summary>
/// Device memory (<c>cuMemAlloc</c>, zeroed), or pinned host memory registered with
/// <c>cuMemHostRegister</c> and reached through its device pointer, which kernels' views then also
/// reach from the host. Copies are synchronous.
/// </summary>
internal sealed unsafe class CudaMemoryBuffer : MemoryBuffer
{
    private readonly CudaAccelerator _accelerator;
    private readonly byte* _host;

    public CudaMemoryBuffer(CudaAccelerator accelerator, long bytes, byte* host)
        : base(accelerator, bytes, hostMapped: host != null)
    {
        _accelerator = accelerator;
        _host = host;
        accelerator.MakeCurrent();
        ulong pointer;
        if (host == null)
        {
            CudaError.Check(CudaApi.cuMemAlloc_v2(&pointer, (nuint)Math.Max(bytes, 1)), "cuMemAlloc");
            DevicePointer = pointer;
            Clear();
        }
        else
        {
            CudaError.Check(CudaApi.cuMemHostRegister_v2(host, (nuint)bytes, CudaApi.HostRegisterDeviceMap), "cuMemHostRegister");
            CudaError.Check(CudaApi.cuMemHostGetDevicePointer_v2(&pointer, host, 0), "cuMemHostGetDevicePointer");
            DevicePointer = pointer;
        }
    }

    public ulong DevicePointer { get; }

    internal override byte* HostPointer => _host;

    internal override void CopyFromHost(byte* source, long offset, long bytes)
    {
        _accelerator.MakeCurrent();
        CudaError.Check(CudaApi.cuMemcpyHtoD_v2(DevicePointer + (ulong)offset, source, (nuint)bytes), "cuMemcpyHtoD");
    }

    internal override void CopyToHost(byte* destination, long offset, long bytes)
    {
        _accelerator.MakeCurrent();
        CudaError.Check(CudaApi.cuMemcpyDtoH_v2(destination, DevicePointer + (ulong)offset, (nuint)bytes), "cuMemcpyDtoH");
    }

    internal override void CopyFrom(MemoryBuffer source, long bytes, AcceleratorStream stream)
    {
        _accelerator.MakeCurrent();
        CudaError.Check(CudaApi.cuMemcpyDtoDAsync_v2(DevicePointer, ((CudaMemoryBuffer)source).DevicePointer, (nuint)bytes, ((CudaStream)stream).Handle), "cuMemcpyDtoDAsync");
    }

    internal override void Clear()
    {
        _accelerator.MakeCurrent();
        CudaError.Check(CudaApi.cuMemsetD8_v2(DevicePointer, 0, (nuint)LengthInBytes), "cuMemsetD8");
    }

    protected override void DisposeNative()
    {
        _accelerator.MakeCurrent();
        if (_host == null)
        {
            CudaApi.cuMemFree_v2(DevicePointer);
        }
        else
        {
            CudaApi.cuMemHostUnregister(_host);
        }
    }
}
