using Testbed.HostMm.Locking;

namespace Testbed.Explore;

/// <summary>
/// The model's scheduler seam (<see cref="IModelScheduler"/>) handed to Coyote: every lock, wait and
/// preemption point of HostMm and the driver becomes a Coyote scheduling point (a
/// <see cref="Thread.Yield"/>, which the rewritten assembly turns into one), so the engine decides
/// which thread runs next exactly where the kernel could be preempted. It also checks liveness:
/// <see cref="LivelockPoints"/> schedule points in a row with no thread completing an operation
/// (<see cref="Completed"/>) fail the schedule as a livelock.
/// </summary>
/// <remarks>
/// Coyote runs one controlled thread at a time, so the counters are plain fields: an interlocked
/// operation would itself be a scheduling point and change the schedules explored.
/// </remarks>
public sealed class ExploreScheduler : IModelScheduler
{
    /// <summary>
    /// Schedule points in a row without a completed operation that count as a livelock: about eight
    /// times the 18-25 points a whole schedule of a fixed variant passes.
    /// </summary>
    public const int LivelockPoints = 200;

    private long _sinceProgress;

    /// <summary>Schedule points passed in this schedule.</summary>
    public long Points { get; private set; }

    /// <summary>Operations the harness's threads completed.</summary>
    public long Operations { get; private set; }

    /// <inheritdoc/>
    public void OnSchedulePoint(SchedulePoint point, LockClass? cls, object instance)
    {
        Points++;
        if (++_sinceProgress > LivelockPoints)
        {
            var where = point == SchedulePoint.Preempt ? $"at '{instance}'" : $"{point.ToString().ToLowerInvariant()} of {cls?.Name ?? instance.GetType().Name}";
            ExploreAssert.That(false, $"livelock: {LivelockPoints} schedule points passed and no thread completed an operation ({Operations} completed before; the last point: {where})");
        }

        Thread.Yield();
    }

    /// <summary>A harness thread completed one operation: the livelock count starts again.</summary>
    public void Completed()
    {
        Operations++;
        _sinceProgress = 0;
    }
}
