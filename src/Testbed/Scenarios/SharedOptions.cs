namespace Testbed.Scenarios;

/// <summary>
/// The options of <c>testbed run</c> that several scenarios share. Each scenario says which it takes
/// (<see cref="IScenario.Takes"/>); the CLI refuses the others with exit code 2 rather than ignore
/// them, so a run never looks as if it used a setting it did not.
/// </summary>
[Flags]
public enum SharedOptions
{
    /// <summary>None of them.</summary>
    None = 0,

    /// <summary><c>--policy</c>.</summary>
    Policy = 1,

    /// <summary><c>--pages</c>.</summary>
    Pages = 2,

    /// <summary><c>--threads</c>.</summary>
    Threads = 4,

    /// <summary><c>--rounds</c>.</summary>
    Rounds = 8,

    /// <summary><c>--seed</c>.</summary>
    Seed = 16,

    /// <summary><c>--coherence</c>.</summary>
    Coherence = 32,
}
