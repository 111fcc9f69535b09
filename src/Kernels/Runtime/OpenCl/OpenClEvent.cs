using Testbed.Kernels.OpenCl.Native;

namespace Testbed.Kernels.OpenCl;

/// <summary>An OpenCL marker; its profiling end time is the device's clock when the work before it finished.</summary>
internal sealed unsafe class OpenClEvent(ClEvent handle) : AcceleratorEvent
{
    public override void Synchronize()
    {
        var evt = handle.Value;
        OpenClError.Check(OpenClApi.clWaitForEvents(1, &evt), "clWaitForEvents");
    }

    public override void Dispose() => handle.Dispose();

    protected override TimeSpan ElapsedSince(AcceleratorEvent start) =>
        TimeSpan.FromTicks((long)(End() - ((OpenClEvent)start).End()) / 100);

    private ulong End()
    {
        ulong nanoseconds;
        OpenClError.Check(OpenClApi.clGetEventProfilingInfo(handle.Value, OpenClApi.ProfilingCommandEnd, sizeof(ulong), &nanoseconds, null), "clGetEventProfilingInfo");
        return nanoseconds;
    }
}
