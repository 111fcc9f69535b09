namespace Testbed.Results;

/// <summary>One scenario's parameters and its runs.</summary>
public sealed record ScenarioResult(string Scenario, IReadOnlyDictionary<string, string> Parameters, IReadOnlyList<PolicyRun> Runs)
{
    /// <summary>Whether every invariant of every run held.</summary>
    public bool Held => Runs.All(r => r.Held);
}
