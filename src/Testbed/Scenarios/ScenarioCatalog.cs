namespace Testbed.Scenarios;

/// <summary>Every scenario, in the order <c>testbed list</c> shows them and <c>testbed suite</c> runs them.</summary>
public static class ScenarioCatalog
{
    /// <summary>All scenarios.</summary>
    public static IReadOnlyList<IScenario> All { get; } =
    [
        new PingpongScenario(),
        new ExclusivityScenario(),
        new FaultStormScenario(),
        new ExclusiveVsReclaimScenario(),
        new OwnerFilterScenario(),
        new OversubscriptionScenario(),
        new StressScenario(),
    ];

    /// <summary>The scenario called <paramref name="name"/>, or null.</summary>
    public static IScenario? Find(string name) => All.FirstOrDefault(s => s.Name == name);
}
