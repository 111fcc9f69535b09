using Testbed.Kernels.OpenCl.Native;

namespace Testbed.Kernels.OpenCl;

/// <summary>An in-order OpenCL command queue, with profiling on so markers can time it.</summary>
internal sealed unsafe class OpenClStream : AcceleratorStream
{
    public OpenClStream(OpenClAccelerator accelerator)
        : base(accelerator)
    {
        int error;
        var properties = stackalloc ulong[] { OpenClApi.QueueProperties, OpenClApi.QueueProfilingEnable, 0 };
        Queue = new ClQueue(OpenClApi.clCreateCommandQueueWithProperties(accelerator.Context.Value, accelerator.DeviceId, properties, &error), error);
    }

    public ClQueue Queue { get; }

    public override void Synchronize() => OpenClError.Check(OpenClApi.clFinish(Queue.Value), "clFinish");

    public override void Dispose() => Queue.Dispose();

    public override AcceleratorEvent RecordEvent()
    {
        nint evt;
        var status = OpenClApi.clEnqueueMarkerWithWaitList(Queue.Value, 0, null, &evt);
        return new OpenClEvent(new ClEvent(evt, status));
    }
}
