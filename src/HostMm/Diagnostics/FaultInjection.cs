using System.Runtime.CompilerServices;

namespace Testbed.HostMm.Diagnostics;

/// <summary>
/// The kernel's fault-injection framework (<c>should_fail()</c>, lib/fault-inject.c) for one
/// <see cref="HostKernel"/>: each <see cref="FaultPoint"/> can be armed to fail every
/// <c>interval</c>-th time it is reached, <c>times</c> times in all (the debugfs knobs of the same
/// names). Deterministic, so a test says exactly which call fails and asserts the fallback. A point
/// that is not armed costs one volatile read.
/// </summary>
public sealed class FaultInjection
{
    private readonly Attr[] _attrs = [.. Enum.GetValues<FaultPoint>().Select(_ => new Attr())];

    /// <summary>
    /// Arms <paramref name="point"/>: from now on every <paramref name="interval"/>-th time it is
    /// reached fails, until it has failed <paramref name="times"/> times (unlimited by default).
    /// </summary>
    public void Arm(FaultPoint point, int times = int.MaxValue, int interval = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(times);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(interval);
        var a = _attrs[(int)point];
        lock (a)
        {
            a.Times = times;
            a.Interval = interval;
            a.Calls = 0;
            Volatile.Write(ref a.Armed, 1);
        }
    }

    /// <summary>Stops injecting at <paramref name="point"/>.</summary>
    public void Disarm(FaultPoint point) => Volatile.Write(ref _attrs[(int)point].Armed, 0);

    /// <summary>Whether <paramref name="point"/> is armed now (a check that would reach the point once per page asks this first).</summary>
    public bool IsArmed(FaultPoint point) => Volatile.Read(ref _attrs[(int)point].Armed) != 0;

    /// <summary>How many failures were injected at <paramref name="point"/> so far.</summary>
    public long Injected(FaultPoint point) => Interlocked.Read(ref _attrs[(int)point].Injected);

    /// <summary>
    /// <c>should_fail()</c>: whether this call at <paramref name="point"/> fails. The check of an
    /// unarmed point is small enough to inline into the per-page loops that make it; the count of an
    /// armed one is taken out of line.
    /// </summary>
    public bool ShouldFail(FaultPoint point)
    {
        var a = _attrs[(int)point];
        return Volatile.Read(ref a.Armed) != 0 && CountCall(a);
    }

    /// <summary>Counts a call at an armed point; true when it is one to fail.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool CountCall(Attr a)
    {
        lock (a)
        {
            if (a.Armed == 0 || ++a.Calls % a.Interval != 0)
            {
                return false;
            }

            if (--a.Times == 0)
            {
                a.Armed = 0;
            }

            a.Injected++;
            return true;
        }
    }

    private sealed class Attr
    {
        public int Armed;
        public int Times;
        public int Interval;
        public long Calls;
        public long Injected;
    }
}
