using System.Reflection;
using ILGPU;

namespace Testbed.Kernels.DeviceCode;

/// <summary>
/// Every kernel of the testbed, for the tools that must see them all (<c>testbed kernels</c>, the PTX
/// and OpenCL C checks in CI): each public static <c>void</c> method of the kernel families below. A
/// new kernel in one of them is covered at once; a new family is added here.
/// </summary>
public static class KernelCatalog
{
    /// <summary>The kernel families, one per file of <c>DeviceCode/</c>.</summary>
    public static IReadOnlyList<Type> Families { get; } = [typeof(MirrorWorkload), typeof(ConformanceKernels), typeof(BenchmarkKernels), typeof(AlgorithmKernels)];

    /// <summary>Every kernel, by family and name.</summary>
    public static IReadOnlyList<MethodInfo> All { get; } =
        [.. Families.SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly).Where(m => m.ReturnType == typeof(void)).OrderBy(m => m.Name, StringComparer.Ordinal))];

    /// <summary>Whether <paramref name="kernel"/> is implicitly grouped (its first parameter is the <see cref="Index1D"/> of its work item).</summary>
    public static bool IsImplicitlyGrouped(MethodInfo kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        var parameters = kernel.GetParameters();
        return parameters.Length > 0 && parameters[0].ParameterType == typeof(Index1D);
    }

    /// <summary>The name tools print: <c>Family.Method</c>.</summary>
    public static string NameOf(MethodInfo kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        return $"{kernel.DeclaringType?.Name}.{kernel.Name}";
    }
}
