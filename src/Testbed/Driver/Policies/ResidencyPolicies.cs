namespace Testbed.Driver.Policies;

/// <summary>The residency policies by name (DESIGN §4.4), as the CLI's <c>--policy</c> selects them.</summary>
public static class ResidencyPolicies
{
    /// <summary>Every policy name, in the order reports list them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["migrate", "remote", "exclusive", "uvm-thrashing", "timeslice", "coherent"];

    /// <summary>A fresh policy named <paramref name="name"/> for a range of <paramref name="pages"/> pages, or null for an unknown name.</summary>
    public static IResidencyPolicy? Create(string name, long pages, UvmThrashingOptions? thrashing = null, TimeSpan? timeslice = null) => name switch
    {
        "migrate" => new MigratePolicy(),
        "remote" => new RemotePolicy(),
        "exclusive" => new ExclusivePolicy(),
        "uvm-thrashing" => new UvmThrashingPolicy(pages, thrashing),
        "timeslice" => new TimeslicePolicy(pages, timeslice),
        "coherent" => new CoherentPolicy(),
        _ => null,
    };
}
