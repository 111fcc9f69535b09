using System.Collections.Concurrent;
using System.Reflection;

namespace Testbed.Kernels;

/// <summary>
/// The generated sources of every kernel in the loaded assemblies. The generator emits a module
/// initializer per assembly that registers its kernels here, so device backends find a kernel's
/// source from its method, and tools (<c>testbed kernels</c>) can print them all.
/// </summary>
public static class KernelRegistry
{
    private static readonly ConcurrentDictionary<(Type, string), KernelSource> s_sources = new();

    /// <summary>Every registered kernel, ordered by type and name.</summary>
    public static IReadOnlyList<KernelSource> All =>
        [.. s_sources.Values.OrderBy(s => s.DeclaringType.FullName, StringComparer.Ordinal).ThenBy(s => s.MethodName, StringComparer.Ordinal)];

    /// <summary>Called by generated module initializers.</summary>
    public static void Register(KernelSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        s_sources[(source.DeclaringType, source.MethodName)] = source;
    }

    /// <summary>The source of <paramref name="kernel"/>, or null if its assembly was built without the generator.</summary>
    public static KernelSource? Find(MethodInfo kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        RuntimeHelpersEnsure(kernel.DeclaringType!);
        return s_sources.TryGetValue((kernel.DeclaringType!, kernel.Name), out var s) ? s : null;
    }

    /// <summary>Module initializers run when a module is first touched; the kernel's type being loaded is enough.</summary>
    private static void RuntimeHelpersEnsure(Type type) => System.Runtime.CompilerServices.RuntimeHelpers.RunModuleConstructor(type.Module.ModuleHandle);
}
