namespace Testbed.HostMm.Exclusive;

/// <summary>How <see cref="DeviceExclusive.MakeDeviceExclusive"/> locks the folio it converts.</summary>
public enum ExclusiveLocking
{
    /// <summary>
    /// The 2025 fix: <c>folio_lock_killable()</c>. A folio that reclaim, compaction or a migration
    /// holds locked is waited for, so a retrying caller always makes progress (only a fatal signal
    /// ends the wait, with -EINTR).
    /// </summary>
    LockKillable,

    /// <summary>The older behaviour: <c>folio_trylock()</c>, returning -EBUSY whenever anyone else holds the lock.</summary>
    TryLock,
}
