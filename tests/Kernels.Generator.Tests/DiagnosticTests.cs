using Microsoft.CodeAnalysis;

namespace Testbed.Kernels.Generator.Tests;

/// <summary>Every construct outside the subset is a compile-time error at its location, and nothing is registered.</summary>
public sealed class DiagnosticTests
{
    private static Diagnostic Single(string source, string id)
    {
        var (generated, diagnostics) = GeneratorHarness.Run(source);
        Assert.Empty(generated);
        var d = Assert.Single(diagnostics, x => x.Id == id);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        return d;
    }

    /// <summary>The line in the test's source (the harness puts two lines before it).</summary>
    private static int Line(Diagnostic d) => d.Location.GetLineSpan().StartLinePosition.Line - 2;

    [Fact]
    public void TBK001_unsupported_syntax_names_the_construct_and_its_line()
    {
        var d = Single("""
            public static class K
            {
                [Kernel] public static void Bad(Index1D i, ArrayView<int> a)
                {
                    a[i] = 1;
                    var f = () => 2;
                }
            }
            """, "TBK001");
        Assert.Equal(5, Line(d));
        Assert.Contains("ParenthesizedLambdaExpression", d.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void TBK002_unsupported_type()
    {
        var d = Single("""
            public static class K { [Kernel] public static void Bad(Index1D i, ArrayView<int> a, byte b) { a[i] = b; } }
            """, "TBK002");
        Assert.Contains("byte", d.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void TBK003_call_to_a_method_that_is_not_a_device_function()
    {
        var d = Single("""
            public static class K
            {
                public static int Helper(int x) => x;
                [Kernel] public static void Bad(Index1D i, ArrayView<int> a) { a[i] = Helper(i); }
            }
            """, "TBK003");
        Assert.Equal(3, Line(d));
        Assert.Contains("Helper", d.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void TBK004_kernel_without_an_index_first()
    {
        var d = Single("""
            public static class K { [Kernel] public static void Bad(ArrayView<int> a, Index1D i) { } }
            """, "TBK004");
        Assert.Contains("Index1D first", d.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void TBK005_recursive_device_function()
    {
        var d = Single("""
            public static class K
            {
                [DeviceFunction] public static int Fact(int n) => n <= 1 ? 1 : n * Fact(n - 1);
                [Kernel] public static void Bad(Index1D i, ArrayView<int> a) { a[i] = Fact(i); }
            }
            """, "TBK005");
        Assert.Contains("Fact", d.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }
}
