namespace Testbed.Tests;

/// <summary>
/// Tests that need the machine to themselves run after the parallel ones, one at a time: the
/// explorer's (they load both cores for seconds) and the ones that assert what happens within a
/// short window of time (a 0.5 s stall window, UVM's 500 µs thrashing lapse), which a neighbour
/// loading the cores would stretch.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "alone";
}
