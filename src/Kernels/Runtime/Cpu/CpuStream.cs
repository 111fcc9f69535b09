namespace Testbed.Kernels.Cpu;

/// <summary>A Cpu accelerator stream: launches and copies run to completion when issued, so there is nothing to wait for.</summary>
internal sealed class CpuStream(Accelerator accelerator) : AcceleratorStream(accelerator)
{
    public override void Synchronize()
    {
    }

    public override void Dispose()
    {
    }

    public override AcceleratorEvent RecordEvent() => new CpuEvent();
}
