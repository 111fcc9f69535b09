using System.Reflection;
using System.Text.Json;
using Testbed.Scenarios;

namespace Testbed.Explore;

/// <summary>
/// The bridge from the plain build to the explorer: <see cref="Run"/> loads the rewritten copy of the
/// testbed from <c>explore/</c> beside this assembly (written by the build, see
/// <c>build/ExploreRewrite.targets</c>) into an <see cref="ExploreLoadContext"/>, hands it the request as
/// JSON, and reads the outcome back. Nothing Coyote-controlled ever runs in the plain assemblies.
/// </summary>
public static class ExploreHost
{
    private static readonly Lazy<MethodInfo> Entry = new(LoadEntry);

    /// <summary>
    /// Where the rewritten assemblies are: <c>explore/</c> in the application's folder (the testbed's
    /// output folder, or the test assembly's, which the build writes them into too). The folder, not
    /// the assembly's location, which a single-file publish (<c>scripts/gpu-check.sh --prepare</c>)
    /// leaves empty.
    /// </summary>
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "explore");

    /// <summary>Runs <paramref name="request"/> in the rewritten assemblies.</summary>
    /// <exception cref="ScenarioInputException">The rewritten assemblies are missing (the build did not write them).</exception>
    public static ExploreOutcome Run(ExploreRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            var json = (string)Entry.Value.Invoke(null, [JsonSerializer.Serialize(request)])!;
            return JsonSerializer.Deserialize<ExploreOutcome>(json)!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }

    /// <summary>The entry point inside the rewritten copy: a request in, an outcome out, as JSON.</summary>
    public static string RunJson(string request) =>
        JsonSerializer.Serialize(Explorer.Run(JsonSerializer.Deserialize<ExploreRequest>(request) ?? throw new ArgumentException("explore: empty request", nameof(request))));

    /// <summary>
    /// Why the explorer cannot run here, or null when it can: the rewritten assemblies are missing,
    /// as in a published single-file testbed (<c>scripts/gpu-check.sh --prepare</c>), which carries
    /// none (they are 172 MB).
    /// </summary>
    public static string? Unavailable
    {
        get
        {
            var folder = Folder;
            return File.Exists(Path.Combine(folder, "testbed.dll")) && File.Exists(Path.Combine(folder, "Microsoft.Coyote.Test.dll"))
                ? null
                : $"the Coyote-rewritten assemblies are not in {folder}; build the testbed with 'dotnet build' (its ExploreRewrite step writes them) and try again";
        }
    }

    private static MethodInfo LoadEntry()
    {
        if (Unavailable is { } why)
        {
            throw new ScenarioInputException($"explore: {why}");
        }

        var assembly = new ExploreLoadContext(Folder).LoadFromAssemblyName(new AssemblyName("testbed"));
        return assembly.GetType(typeof(ExploreHost).FullName!)!.GetMethod(nameof(RunJson))!;
    }
}
