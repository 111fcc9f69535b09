namespace Testbed.HostMm.Locking;

/// <summary>
/// A named place between two steps of a protocol where the kernel could be preempted, passed to
/// <see cref="IModelScheduler.OnSchedulePoint"/> with <see cref="SchedulePoint.Preempt"/> so an
/// explorer can line threads up exactly there.
/// </summary>
public sealed class PreemptionPoint
{
    private PreemptionPoint(string name) => Name = name;

    /// <summary><c>DoSwapPage</c> took its reference on the device page and is about to call <c>migrate_to_ram</c>.</summary>
    public static PreemptionPoint SwapPageReferenced { get; } = new("do_swap_page: referenced, before migrate_to_ram");

    /// <summary><c>DoSwapPage</c> returned from <c>migrate_to_ram</c> and is about to put its reference.</summary>
    public static PreemptionPoint SwapPageBeforePut { get; } = new("do_swap_page: after migrate_to_ram, before put");

    /// <summary>Where it is.</summary>
    public string Name { get; }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
