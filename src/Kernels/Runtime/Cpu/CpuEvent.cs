using System.Diagnostics;

namespace Testbed.Kernels.Cpu;

/// <summary>A Cpu event: everything queued before it has already run, so it is a timestamp.</summary>
internal sealed class CpuEvent : AcceleratorEvent
{
    private readonly long _ticks = Stopwatch.GetTimestamp();

    public override void Synchronize()
    {
    }

    protected override TimeSpan ElapsedSince(AcceleratorEvent start) => Stopwatch.GetElapsedTime(((CpuEvent)start)._ticks, _ticks);
}
