namespace Testbed.Explore;

/// <summary>The targets <c>testbed explore</c> knows, one per seed race and one for exclusivity.</summary>
public static class ExploreTargets
{
    /// <summary>Every target's name, in the order <c>explore all</c> runs them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["swap-fault", "exclusive-vs-reclaim", "owner-filter", "eviction", "exclusivity"];

    /// <summary>The target called <paramref name="name"/> (null if none), with <paramref name="threads"/> where it takes a thread count.</summary>
    public static ExploreTarget? Find(string name, int threads = 3) => name switch
    {
        "swap-fault" => new SwapFaultTarget(threads),
        "exclusive-vs-reclaim" => new ExclusiveVsReclaimTarget(),
        "owner-filter" => new OwnerFilterTarget(),
        "eviction" => new EvictionTarget(),
        "exclusivity" => new ExclusivityTarget(),
        _ => null,
    };
}
