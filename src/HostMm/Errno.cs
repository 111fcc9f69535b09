namespace Testbed.HostMm;

/// <summary>
/// The error numbers the model returns where the kernel returns <c>-E…</c>. <see cref="Ok"/> is 0, so
/// <c>if (err != Errno.Ok)</c> reads like the kernel's <c>if (ret)</c>. Exceptions are kept for
/// programming errors (a caller breaking a documented precondition), never for outcomes a real
/// kernel reports to its caller.
/// </summary>
public enum Errno
{
    /// <summary>Success.</summary>
    Ok = 0,
    /// <summary>-EPERM: the operation is not permitted (e.g. a write fault on a read-only VMA).</summary>
    EPERM = 1,
    /// <summary>-ENOENT: nothing is there (e.g. no page to migrate).</summary>
    ENOENT = 2,
    /// <summary>-EINTR: a killable wait was interrupted by a fatal signal.</summary>
    EINTR = 4,
    /// <summary>-EAGAIN: try again (e.g. a non-blockable invalidation would have to sleep).</summary>
    EAGAIN = 11,
    /// <summary>-ENOMEM: out of memory, or a range is not fully covered by VMAs.</summary>
    ENOMEM = 12,
    /// <summary>-EFAULT: a bad address: no VMA, or an access the VMA's protection forbids (SIGSEGV).</summary>
    EFAULT = 14,
    /// <summary>-EBUSY: a resource is busy; the caller may retry.</summary>
    EBUSY = 16,
    /// <summary>-EEXIST: something already exists where the caller asked for nothing.</summary>
    EEXIST = 17,
    /// <summary>-EINVAL: an invalid argument (unaligned, zero length, unknown flags, out of range).</summary>
    EINVAL = 22,
    /// <summary>-EOPNOTSUPP: the operation is not supported on this kind of memory.</summary>
    EOPNOTSUPP = 95,
}
