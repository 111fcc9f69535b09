namespace Testbed.Results;

/// <summary>
/// What <c>testbed run</c> and <c>testbed suite</c> write (schema <see cref="Schema"/>): the command,
/// when it started and how long it took, the accelerator, the environment, and one
/// <see cref="ScenarioResult"/> per scenario run.
/// </summary>
public sealed record ResultDocument(string Command, DateTimeOffset Started, double DurationSeconds, AcceleratorInfo Accelerator, EnvironmentInfo Environment, IReadOnlyList<ScenarioResult> Scenarios)
{
    /// <summary>The schema identifier; a reader refuses any other.</summary>
    public const string Schema = "testbed.result/1";

    /// <summary>Whether every invariant held.</summary>
    public bool Held => Scenarios.All(s => s.Held);
}
