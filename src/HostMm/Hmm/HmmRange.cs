using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Hmm;

/// <summary>
/// <c>struct hmm_range</c>: what <see cref="HmmMirror.HmmRangeFault"/> snapshots — <c>[Start, End)</c> of
/// <see cref="Notifier"/>'s address space, checked against <see cref="NotifierSeq"/> from
/// <see cref="MmuIntervalNotifier.ReadBegin"/> — with one <see cref="HmmPfn"/> entry per page.
/// </summary>
public sealed class HmmRange
{
    /// <summary>The driver's interval notifier; its address space is the one walked.</summary>
    public required MmuIntervalNotifier Notifier { get; init; }

    /// <summary>The sequence from <see cref="MmuIntervalNotifier.ReadBegin"/>.</summary>
    public ulong NotifierSeq { get; set; }

    /// <summary>First address (page-aligned).</summary>
    public ulong Start { get; set; }

    /// <summary>One past the last address (page-aligned).</summary>
    public ulong End { get; set; }

    /// <summary>One entry per page: request flags in, frame and flags out.</summary>
    public ulong[] HmmPfns { get; set; } = [];

    /// <summary>Request flags applied to every entry (the "pre-fault a range" use).</summary>
    public ulong DefaultFlags { get; set; }

    /// <summary>Which per-entry request bits count (0: only <see cref="DefaultFlags"/>).</summary>
    public ulong PfnFlagsMask { get; set; }

    /// <summary>Device-private pages of this owner are reported as they are, never faulted.</summary>
    public object? DevPrivateOwner { get; set; }
}
