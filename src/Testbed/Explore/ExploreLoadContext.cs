using System.Reflection;
using System.Runtime.Loader;

namespace Testbed.Explore;

/// <summary>
/// The load context of the Coyote-rewritten assemblies in <c>explore/</c>: the testbed's own
/// three assemblies and Coyote's come from that folder, everything else (the framework, ILGPU,
/// the console libraries) is shared with the default context. The plain assemblies stay loaded beside
/// them, untouched, so <c>run</c>, <c>suite</c> and <c>bench</c> in the same process keep their speed.
/// </summary>
internal sealed class ExploreLoadContext(string folder) : AssemblyLoadContext("testbed explore (Coyote-rewritten)")
{
    private static readonly string[] Rewritten = ["testbed", "Testbed.HostMm", "Testbed.Kernels"];

    /// <inheritdoc/>
    protected override Assembly? Load(AssemblyName assemblyName)
    {
        var name = assemblyName.Name ?? string.Empty;
        return Rewritten.Contains(name) || name.StartsWith("Microsoft.Coyote", StringComparison.Ordinal)
            ? LoadFromAssemblyPath(Path.Combine(folder, name + ".dll"))
            : null;
    }
}
