namespace Testbed.HostMm.Locking;

/// <summary>Where a model thread is about to synchronise.</summary>
public enum SchedulePoint
{
    /// <summary>Before taking a model lock (mutex, rw_semaphore, folio lock).</summary>
    Acquire,

    /// <summary>Before blocking in a wait (a contended lock, a folio unlock, an invalidation's end).</summary>
    Wait,

    /// <summary>
    /// A point where the kernel could be preempted between two steps of a protocol; the instance is
    /// the <see cref="PreemptionPoint"/>. Where an explorer lines threads up to reproduce a race.
    /// </summary>
    Preempt,
}

/// <summary>
/// The seam through which a controlled scheduler can decide which thread runs next. Every lock,
/// wait and sleep of the model calls <see cref="OnSchedulePoint"/> first, so a systematic
/// (PCT-style) explorer can delay or reorder threads exactly at synchronisation points. No
/// scheduler is installed by default and the points then cost one null check.
/// </summary>
public interface IModelScheduler
{
    /// <summary>Called on the thread that is about to synchronise; may block it to run another first.</summary>
    void OnSchedulePoint(SchedulePoint point, LockClass? cls, object instance);
}
