using Testbed.Results;

namespace Testbed.Scenarios;

/// <summary>
/// A named, parameterised experiment (DESIGN §5) that runs one or more policies or variants and
/// reports metrics and invariants for each.
/// </summary>
public interface IScenario
{
    /// <summary>The name <c>testbed run</c> takes.</summary>
    string Name { get; }

    /// <summary>One line on what it shows.</summary>
    string Summary { get; }

    /// <summary>The options only this scenario takes.</summary>
    IReadOnlyList<ScenarioOption> Options { get; }

    /// <summary>The shared options of <c>testbed run</c> this scenario uses; the CLI refuses the others.</summary>
    SharedOptions Takes { get; }

    /// <summary>What a run with <paramref name="settings"/> takes from the machine at its peak, so the CLI can refuse one that cannot fit before it starts.</summary>
    MemoryNeed Memory(ScenarioSettings settings);

    /// <summary>Runs it; bad requests are <see cref="ScenarioInputException"/>s.</summary>
    ScenarioResult Run(ScenarioContext context);
}
