namespace Testbed.HostMm.Locking;

/// <summary>
/// What every model lock reports to: the <see cref="LockValidator"/> and, when installed, the
/// <see cref="IModelScheduler"/>. One domain belongs to one <see cref="HostKernel"/>, so tests that
/// run side by side keep separate lock graphs.
/// </summary>
public sealed class SyncDomain
{
    /// <summary>Creates a domain; <paramref name="validate"/> turns the lock validator on.</summary>
    public SyncDomain(bool validate) => Validator = new LockValidator(validate);

    /// <summary>The lock-order validator.</summary>
    public LockValidator Validator { get; }

    /// <summary>The controlled scheduler, or null for the operating system's own scheduling.</summary>
    public IModelScheduler? Scheduler { get; set; }

    internal void BeforeAcquire(LockClass cls, int subclass, object instance, AcquireSite site)
    {
        Scheduler?.OnSchedulePoint(SchedulePoint.Acquire, cls, instance);
        Validator.Acquire(cls, subclass, instance, site);
    }

    internal void BeforeWait(LockClass? cls, object instance) => Scheduler?.OnSchedulePoint(SchedulePoint.Wait, cls, instance);

    internal void Preempt(PreemptionPoint point) => Scheduler?.OnSchedulePoint(SchedulePoint.Preempt, null, point);
}
