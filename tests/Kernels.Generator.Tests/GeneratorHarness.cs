using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Testbed.Kernels.Generator.Tests;

/// <summary>Runs the generator over an in-memory source file against the real Testbed.Kernels assembly.</summary>
internal static class GeneratorHarness
{
    private static readonly MetadataReference[] References =
    [
        .. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).Select(p => MetadataReference.CreateFromFile(p)),
        MetadataReference.CreateFromFile(typeof(KernelAttribute).Assembly.Location),
    ];

    /// <summary>The generated registration source (empty if none) and the generator's diagnostics.</summary>
    public static (string Generated, ImmutableArray<Diagnostic> Diagnostics) Run(string source)
    {
        var compilation = CSharpCompilation.Create(
            "Sample",
            [CSharpSyntaxTree.ParseText("using Testbed.Kernels;\nnamespace Sample;\n" + source, path: "Sample.cs")],
            References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var driver = CSharpGeneratorDriver.Create(new KernelGenerator()).RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        var generated = driver.GetRunResult().GeneratedTrees.Select(t => t.ToString()).FirstOrDefault() ?? string.Empty;
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && !d.Id.StartsWith("TBK", StringComparison.Ordinal)).ToArray();
        Assert.True(diagnostics.Length > 0 || errors.Length == 0, string.Join("\n", errors.Select(e => e.ToString())));
        return (generated.Replace("\"\"", "\""), diagnostics);
    }

    /// <summary>Runs and asserts the generator reported nothing.</summary>
    public static string Translate(string source)
    {
        var (generated, diagnostics) = Run(source);
        Assert.Empty(diagnostics);
        Assert.NotEmpty(generated);
        return generated;
    }
}
