using Microsoft.CodeAnalysis;

namespace Testbed.Kernels.Generator;

/// <summary>The diagnostics the generator reports: anything a kernel does that OpenCL C or CUDA C cannot express.</summary>
internal static class GeneratorDiagnostics
{
    private const string Category = "Testbed.Kernels";

    public static readonly DiagnosticDescriptor UnsupportedSyntax = new(
        "TBK001", "Unsupported construct in a kernel", "{0} is not supported in [Kernel] or [DeviceFunction] code", Category, DiagnosticSeverity.Error, true);

    public static readonly DiagnosticDescriptor UnsupportedType = new(
        "TBK002", "Unsupported type in a kernel", "Type '{0}' is not supported in [Kernel] or [DeviceFunction] code (use int, uint, long, ulong, float, double, bool, Index1D or ArrayView<T>)", Category, DiagnosticSeverity.Error, true);

    public static readonly DiagnosticDescriptor UnsupportedCall = new(
        "TBK003", "Call to a method that is not a device function", "'{0}' cannot be called from a kernel: mark it [DeviceFunction], or use Atomic.*, Math.Min/Max", Category, DiagnosticSeverity.Error, true);

    public static readonly DiagnosticDescriptor BadSignature = new(
        "TBK004", "Invalid kernel signature", "{0}", Category, DiagnosticSeverity.Error, true);

    public static readonly DiagnosticDescriptor Recursion = new(
        "TBK005", "Recursive device function", "Device function '{0}' calls itself (directly or indirectly); OpenCL C and CUDA kernels cannot recurse", Category, DiagnosticSeverity.Error, true);
}
