using Testbed.Kernels.Cuda.Native;

namespace Testbed.Kernels.Cuda;

/// <summary>A CUDA stream (<c>cuStreamCreate</c>, blocking with respect to the legacy stream that synchronous copies use).</summary>
internal sealed unsafe class CudaStream : AcceleratorStream
{
    public CudaStream(CudaAccelerator accelerator)
        : base(accelerator)
    {
        accelerator.MakeCurrent();
        nint stream;
        CudaError.Check(CudaApi.cuStreamCreate(&stream, 0), "cuStreamCreate");
        Handle = stream;
    }

    public nint Handle { get; private set; }

    public override void Synchronize()
    {
        ((CudaAccelerator)Accelerator).MakeCurrent();
        CudaError.Check(CudaApi.cuStreamSynchronize(Handle), "cuStreamSynchronize");
    }

    public override AcceleratorEvent RecordEvent() => new CudaEvent((CudaAccelerator)Accelerator, Handle);

    public override void Dispose()
    {
        if (Handle != 0)
        {
            ((CudaAccelerator)Accelerator).MakeCurrent();
            CudaApi.cuStreamDestroy_v2(Handle);
            Handle = 0;
        }
    }
}
