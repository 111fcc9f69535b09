using System.Diagnostics;

namespace Testbed.HostMm.Locking;

/// <summary>What the lock validator found.</summary>
public enum LockdepReportKind
{
    /// <summary>Two classes were taken in both orders: a possible ABBA deadlock.</summary>
    OrderInversion,

    /// <summary>A lock class (and subclass) was taken while already held by the same thread.</summary>
    RecursiveAcquisition,
}

/// <summary>
/// The validator's report, like lockdep's "possible circular locking dependency detected": the
/// dependency just attempted (<see cref="Held"/> held while taking <see cref="Acquired"/>) and the
/// earlier one it contradicts, each with the stack that created it.
/// </summary>
public sealed class LockdepReport
{
    internal LockdepReport(LockdepReportKind kind, string held, string acquired, StackTrace newSite, StackTrace? existingSite, AcquireSite heldSite, AcquireSite acquiredSite, AcquireSite existingAcquiredSite)
    {
        HeldSite = heldSite;
        AcquiredSite = acquiredSite;
        ExistingAcquiredSite = existingAcquiredSite;
        Kind = kind;
        Held = held;
        Acquired = acquired;
        NewSite = newSite;
        ExistingSite = existingSite;
    }

    /// <summary>Which rule was broken.</summary>
    public LockdepReportKind Kind { get; }

    /// <summary>The class already held (with its subclass when not 0).</summary>
    public string Held { get; }

    /// <summary>The class being acquired.</summary>
    public string Acquired { get; }

    /// <summary>Where the held lock was taken.</summary>
    public AcquireSite HeldSite { get; }

    /// <summary>Where <see cref="Acquired"/> was being taken when the report was made.</summary>
    public AcquireSite AcquiredSite { get; }

    /// <summary>For an inversion, where the opposite order's second lock was taken.</summary>
    public AcquireSite ExistingAcquiredSite { get; }

    /// <summary>Where <see cref="Acquired"/> was taken while <see cref="Held"/> was held.</summary>
    public StackTrace NewSite { get; }

    /// <summary>For an inversion, where the opposite order (<see cref="Acquired"/> then <see cref="Held"/>) was first recorded.</summary>
    public StackTrace? ExistingSite { get; }

    /// <inheritdoc/>
    public override string ToString() => Kind == LockdepReportKind.OrderInversion
        ? $"possible circular locking dependency: {Acquired} acquired in {AcquiredSite} while holding {Held} (taken in {HeldSite})\n" +
          $"-- this order, taken at:\n{NewSite}\n-- the opposite order ({Acquired} -> {Held}) took {Held} in {ExistingAcquiredSite}, at:\n{ExistingSite}"
        : $"possible recursive locking: {Acquired} acquired in {AcquiredSite} while already held (taken in {HeldSite})\n-- acquired again at:\n{NewSite}";
}
