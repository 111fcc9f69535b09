using Testbed.Kernels.Cuda.Native;

namespace Testbed.Kernels.Cuda;

/// <summary>A CUDA event recorded on a stream; elapsed time comes from <c>cuEventElapsedTime</c>.</summary>
internal sealed unsafe class CudaEvent : AcceleratorEvent
{
    private readonly CudaAccelerator _accelerator;
    private nint _event;

    public CudaEvent(CudaAccelerator accelerator, nint stream)
    {
        _accelerator = accelerator;
        accelerator.MakeCurrent();
        nint evt;
        CudaError.Check(CudaApi.cuEventCreate(&evt, 0), "cuEventCreate");
        _event = evt;
        CudaError.Check(CudaApi.cuEventRecord(evt, stream), "cuEventRecord");
    }

    public override void Synchronize()
    {
        _accelerator.MakeCurrent();
        CudaError.Check(CudaApi.cuEventSynchronize(_event), "cuEventSynchronize");
    }

    public override void Dispose()
    {
        if (_event != 0)
        {
            _accelerator.MakeCurrent();
            CudaApi.cuEventDestroy_v2(_event);
            _event = 0;
        }
    }

    protected override TimeSpan ElapsedSince(AcceleratorEvent start)
    {
        float milliseconds;
        CudaError.Check(CudaApi.cuEventElapsedTime(&milliseconds, ((CudaEvent)start)._event, _event), "cuEventElapsedTime");
        return TimeSpan.FromMilliseconds(milliseconds);
    }
}
