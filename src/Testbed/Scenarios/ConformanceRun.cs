using Testbed.Kernels.Accelerators;
using Testbed.Kernels.Conformance;
using Testbed.Results;

namespace Testbed.Scenarios;

/// <summary>
/// <c>testbed conformance</c>: the conformance suite (<see cref="ConformanceSuite"/>) on the context's
/// accelerator, as a result like a scenario's, one run per check with a <c>conformant</c> invariant, so
/// the console, the JSON and the exit code work as for any run. This is how an accelerator is checked
/// where no .NET SDK runs the tests (a GPU machine with a self-contained testbed).
/// </summary>
public static class ConformanceRun
{
    /// <summary>Every check that applies to the accelerator, on one runner with its native link; the ones that do not apply are named in the parameters.</summary>
    public static ScenarioResult Run(ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var runner = context.Accelerator.CreateRunner();
        var runs = new List<PolicyRun>();
        foreach (var check in ConformanceSuite.All.Where(c => c.Applies(runner)))
        {
            context.Status($"conformance: {check.Name}");
            var outcome = ConformanceSuite.Run(check, runner);
            runs.Add(new PolicyRun
            {
                Name = check.Name,
                Policy = runner.Kind.Name(),
                Settings = new Dictionary<string, string> { ["summary"] = check.Summary },
                Metrics = outcome.Measured?.ToDictionary(m => m.Key, m => new Metric(m.Value, "count")) ?? [],
                Invariants = [new Invariant("conformant", outcome.Held, outcome.Detail)],
            });
        }

        var skipped = ConformanceSuite.All.Where(c => !c.Applies(runner)).Select(c => c.Name).ToList();
        return new ScenarioResult("conformance", new Dictionary<string, string>
        {
            ["accelerator"] = $"{runner.Kind.Name()}: {runner.Name}",
            ["checks"] = $"{runs.Count}",
            ["not_applicable"] = skipped.Count == 0 ? "none" : string.Join(",", skipped),
        }, runs);
    }
}
