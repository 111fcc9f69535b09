using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Notifiers;

/// <summary>
/// <c>struct mmu_notifier_range</c>: the invalidated range <c>[Start, End)</c>, why, by whom
/// (<see cref="Owner"/>, set for <see cref="MmuNotifierEvent.Migrate"/> and
/// <see cref="MmuNotifierEvent.Exclusive"/>), and whether the callback may sleep.
/// </summary>
public readonly record struct MmuNotifierRange(
    AddressSpace Mm,
    ulong Start,
    ulong End,
    MmuNotifierEvent Event,
    object? Owner = null,
    bool Blockable = true);
