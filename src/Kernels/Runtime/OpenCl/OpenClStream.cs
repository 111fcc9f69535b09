using Testbed.Kernels.OpenCl.Native;

namespace Testbed.Kernels.OpenCl;

/// <summary>An in-order OpenCL command queue.</summary>
internal sealed unsafe class OpenClStream : AcceleratorStream
{
    public OpenClStream(OpenClAccelerator accelerator)
        : base(accelerator)
    {
        int error;
        Queue = new ClQueue(OpenClApi.clCreateCommandQueueWithProperties(accelerator.Context.Value, accelerator.DeviceId, null, &error), error);
    }

    public ClQueue Queue { get; }

    public override void Synchronize() => OpenClError.Check(OpenClApi.clFinish(Queue.Value), "clFinish");

    public override void Dispose() => Queue.Dispose();
}
