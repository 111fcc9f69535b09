using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Testbed.Kernels.Generator.Translation;

/// <summary>
/// Translates one kernel, and the device functions it reaches, to one dialect. The subset: the
/// primitives int, uint, long, ulong, float, double and bool; <c>Index1D</c> and <c>ArrayView&lt;T&gt;</c>
/// parameters; locals; arithmetic, bitwise, shift, comparison, logical and conditional operators;
/// casts; assignments; if/else, for, while, do, break, continue, return; calls to
/// <c>[DeviceFunction]</c> methods, <c>Atomic.*</c> and <c>Math.Min/Max</c>; <c>Group</c>/<c>Grid</c>
/// index queries. Anything else is reported as a diagnostic at its location and translated as a
/// placeholder so the rest of the method is still checked.
/// </summary>
internal sealed class KernelTranslator
{
    private const string KernelAttribute = "Testbed.Kernels.KernelAttribute";
    private const string DeviceFunctionAttribute = "Testbed.Kernels.DeviceFunctionAttribute";
    private readonly Compilation _compilation;
    private readonly Dialect _dialect;
    private readonly List<Diagnostic> _diagnostics;
    private readonly List<IMethodSymbol> _functions = new();
    private readonly Dictionary<IMethodSymbol, string> _definitions = new(SymbolEqualityComparer.Default);
    private readonly HashSet<IMethodSymbol> _inProgress = new(SymbolEqualityComparer.Default);
    /// <summary>Identifiers C#'s grammar allows that OpenCL C or CUDA reserve or use for built-ins.</summary>
    private static readonly HashSet<string> Reserved = new()
    {
        "auto", "register", "signed", "unsigned", "extern", "inline", "restrict", "union", "typedef", "goto",
        "kernel", "global", "local", "constant", "private", "half", "min", "max", "abs", "clamp", "select",
        "vector", "image2d_t", "sampler_t", "atomic_add", "atomicAdd", "threadIdx", "blockIdx", "blockDim", "gridDim",
    };

    private SemanticModel _model = null!;
    private bool _wideAtomics;

    public KernelTranslator(Compilation compilation, Dialect dialect, List<Diagnostic> diagnostics)
    {
        _compilation = compilation;
        _dialect = dialect;
        _diagnostics = diagnostics;
    }

    public static bool IsKernel(IMethodSymbol m) => HasAttribute(m, KernelAttribute);

    public static string EntryName(IMethodSymbol m) => $"{m.ContainingType.Name}_{m.Name}";

    /// <summary>The whole translation unit for <paramref name="kernel"/>.</summary>
    public string TranslateKernel(IMethodSymbol kernel, MethodDeclarationSyntax syntax)
    {
        _model = _compilation.GetSemanticModel(syntax.SyntaxTree);
        var parameters = new List<string> { "int __extent" + _dialect.HiddenParameters };
        string? index = null;
        if (!kernel.IsStatic || !kernel.ReturnsVoid || kernel.Parameters.Length == 0 || !IsIndex(kernel.Parameters[0].Type))
        {
            Report(GeneratorDiagnostics.BadSignature, syntax.Identifier.GetLocation(), $"Kernel '{kernel.Name}' must be static, return void and take Index1D first");
        }
        else
        {
            index = Safe(kernel.Parameters[0].Name);
        }

        var body = new StringBuilder();
        foreach (var p in kernel.Parameters.Skip(index is null ? 0 : 1))
        {
            if (_dialect.ViewsCarryOffset && ArrayViewOf(p.Type) is { } view)
            {
                var element = TypeName(view.TypeArguments[0], syntax);
                parameters.Add($"{_dialect.Pointer(element)} {Safe(p.Name)}, {_dialect.LengthType} {p.Name}_offset, {_dialect.LengthType} {p.Name}_length");
                body.Append("    ").Append(Safe(p.Name)).Append(" += ").Append(p.Name).AppendLine("_offset;");
            }
            else
            {
                parameters.Add(Parameter(p, syntax));
            }
        }

        if (index is not null)
        {
            body.Append("    int ").Append(index).Append(" = ").Append(_dialect.GlobalIndex).AppendLine(";");
            body.Append("    if (").Append(index).AppendLine(" >= __extent) return;");
        }

        Body(syntax, body, 1);
        var kernelText = $"{_dialect.KernelQualifier} {EntryName(kernel)}({string.Join(", ", parameters)})\n{{\n{body}}}\n";

        var unit = new StringBuilder();
        unit.Append(_dialect.Prelude(_wideAtomics));
        foreach (var f in _functions)
        {
            unit.Append(Prototype(f)).AppendLine(";");
        }

        foreach (var f in _functions)
        {
            unit.Append(_definitions[f]);
        }

        unit.Append(kernelText);
        return unit.ToString();
    }

    /// <summary>The name a C# identifier gets in C: unchanged unless the dialects reserve it.</summary>
    private static string Safe(string name) => Reserved.Contains(name) ? name + "_" : name;

    private static bool HasAttribute(ISymbol s, string name) =>
        s.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == name);

    private static bool IsIndex(ITypeSymbol t) => t.ToDisplayString() == "Testbed.Kernels.Index1D";

    private static INamedTypeSymbol? ArrayViewOf(ITypeSymbol t) =>
        t is INamedTypeSymbol { IsGenericType: true } n && n.ConstructedFrom.ToDisplayString() == "Testbed.Kernels.ArrayView<T>" ? n : null;

    private void Report(DiagnosticDescriptor d, Location location, params object[] args) => _diagnostics.Add(Diagnostic.Create(d, location, args));

    private string TypeName(ITypeSymbol t, SyntaxNode at)
    {
        if (_dialect.Primitive(t.SpecialType) is { } p)
        {
            return p;
        }

        if (IsIndex(t))
        {
            return "int";
        }

        Report(GeneratorDiagnostics.UnsupportedType, at.GetLocation(), t.ToDisplayString());
        return "int";
    }

    private string Parameter(IParameterSymbol p, SyntaxNode at)
    {
        if (ArrayViewOf(p.Type) is { } view)
        {
            var element = TypeName(view.TypeArguments[0], at);
            return $"{_dialect.Pointer(element)} {Safe(p.Name)}, {_dialect.LengthType} {p.Name}_length";
        }

        return $"{TypeName(p.Type, at)} {Safe(p.Name)}";
    }

    private string Prototype(IMethodSymbol f)
    {
        var syntax = (MethodDeclarationSyntax)f.DeclaringSyntaxReferences[0].GetSyntax();
        var ret = f.ReturnsVoid ? "void" : TypeName(f.ReturnType, syntax.ReturnType);
        var parameters = string.Join(", ", f.Parameters.Select(p => Parameter(p, syntax)));
        var hidden = parameters.Length == 0 ? _dialect.HiddenParameters.TrimStart(',', ' ') : _dialect.HiddenParameters;
        return $"{_dialect.FunctionQualifier}{ret} {EntryName(f)}({parameters}{hidden})";
    }

    /// <summary>Translates a device function once, after the functions it calls.</summary>
    private void RequireFunction(IMethodSymbol f, SyntaxNode callSite)
    {
        if (_definitions.ContainsKey(f))
        {
            return;
        }

        if (!_inProgress.Add(f))
        {
            Report(GeneratorDiagnostics.Recursion, callSite.GetLocation(), f.Name);
            return;
        }

        if (f.DeclaringSyntaxReferences.Length == 0 || f.DeclaringSyntaxReferences[0].GetSyntax() is not MethodDeclarationSyntax syntax)
        {
            Report(GeneratorDiagnostics.UnsupportedCall, callSite.GetLocation(), f.ToDisplayString());
            _inProgress.Remove(f);
            return;
        }

        var saved = _model;
        _model = _compilation.GetSemanticModel(syntax.SyntaxTree);
        var body = new StringBuilder();
        Body(syntax, body, 1);
        _model = saved;
        _definitions[f] = $"{Prototype(f)}\n{{\n{body}}}\n";
        _functions.Add(f);
        _inProgress.Remove(f);
    }

    private void Body(MethodDeclarationSyntax syntax, StringBuilder sb, int depth)
    {
        if (syntax.ExpressionBody is { } arrow)
        {
            var symbol = _model.GetDeclaredSymbol(syntax)!;
            Indent(sb, depth).Append(symbol.ReturnsVoid ? string.Empty : "return ").Append(Expr(arrow.Expression)).AppendLine(";");
        }
        else if (syntax.Body is { } block)
        {
            foreach (var s in block.Statements)
            {
                Statement(s, sb, depth);
            }
        }
    }

    private static StringBuilder Indent(StringBuilder sb, int depth) => sb.Append(' ', depth * 4);

    private void Statement(StatementSyntax s, StringBuilder sb, int depth)
    {
        switch (s)
        {
            case BlockSyntax b:
                Indent(sb, depth).AppendLine("{");
                foreach (var inner in b.Statements)
                {
                    Statement(inner, sb, depth + 1);
                }

                Indent(sb, depth).AppendLine("}");
                break;
            case LocalDeclarationStatementSyntax l when !l.IsConst:
                Indent(sb, depth).Append(Declaration(l.Declaration)).AppendLine(";");
                break;
            case LocalDeclarationStatementSyntax:
                break;
            case ExpressionStatementSyntax e:
                Indent(sb, depth).Append(Expr(e.Expression)).AppendLine(";");
                break;
            case IfStatementSyntax i:
                Indent(sb, depth).Append("if (").Append(Expr(i.Condition)).AppendLine(")");
                Nested(i.Statement, sb, depth);
                if (i.Else is { } otherwise)
                {
                    Indent(sb, depth).AppendLine("else");
                    Nested(otherwise.Statement, sb, depth);
                }

                break;
            case ForStatementSyntax f:
                var init = f.Declaration is { } declaration ? Declaration(declaration) : string.Join(", ", f.Initializers.Select(Expr));
                var cond = f.Condition is null ? string.Empty : Expr(f.Condition);
                Indent(sb, depth).Append("for (").Append(init).Append("; ").Append(cond).Append("; ")
                    .Append(string.Join(", ", f.Incrementors.Select(Expr))).AppendLine(")");
                Nested(f.Statement, sb, depth);
                break;
            case WhileStatementSyntax w:
                Indent(sb, depth).Append("while (").Append(Expr(w.Condition)).AppendLine(")");
                Nested(w.Statement, sb, depth);
                break;
            case DoStatementSyntax d:
                Indent(sb, depth).AppendLine("do");
                Nested(d.Statement, sb, depth);
                Indent(sb, depth).Append("while (").Append(Expr(d.Condition)).AppendLine(");");
                break;
            case BreakStatementSyntax:
                Indent(sb, depth).AppendLine("break;");
                break;
            case ContinueStatementSyntax:
                Indent(sb, depth).AppendLine("continue;");
                break;
            case ReturnStatementSyntax r:
                Indent(sb, depth).Append("return").Append(r.Expression is null ? string.Empty : " " + Expr(r.Expression)).AppendLine(";");
                break;
            case EmptyStatementSyntax:
                break;
            default:
                Report(GeneratorDiagnostics.UnsupportedSyntax, s.GetLocation(), Describe(s));
                break;
        }
    }

    private void Nested(StatementSyntax s, StringBuilder sb, int depth)
    {
        if (s is BlockSyntax)
        {
            Statement(s, sb, depth);
        }
        else
        {
            Indent(sb, depth).AppendLine("{");
            Statement(s, sb, depth + 1);
            Indent(sb, depth).AppendLine("}");
        }
    }

    private string Declaration(VariableDeclarationSyntax d)
    {
        var parts = new List<string>();
        string? type = null;
        foreach (var v in d.Variables)
        {
            var local = (ILocalSymbol)_model.GetDeclaredSymbol(v)!;
            type ??= TypeName(local.Type, d.Type);
            var name = Safe(v.Identifier.Text);
            parts.Add(v.Initializer is null ? name : $"{name} = {Expr(v.Initializer.Value)}");
        }

        return $"{type} {string.Join(", ", parts)}";
    }

    private string Expr(ExpressionSyntax e)
    {
        var constant = _model.GetConstantValue(e);
        if (constant.HasValue && e is not AssignmentExpressionSyntax)
        {
            return Literal(constant.Value, e);
        }

        switch (e)
        {
            case ParenthesizedExpressionSyntax p:
                return $"({Expr(p.Expression)})";
            case BinaryExpressionSyntax b when Operator(b.Kind()) is { } op:
                return $"{Expr(b.Left)} {op} {Expr(b.Right)}";
            case PrefixUnaryExpressionSyntax u when u.Kind() is SyntaxKind.UnaryMinusExpression or SyntaxKind.UnaryPlusExpression or SyntaxKind.LogicalNotExpression or SyntaxKind.BitwiseNotExpression or SyntaxKind.PreIncrementExpression or SyntaxKind.PreDecrementExpression:
                return u.OperatorToken.Text + Expr(u.Operand);
            case PostfixUnaryExpressionSyntax u when u.Kind() is SyntaxKind.PostIncrementExpression or SyntaxKind.PostDecrementExpression:
                return Expr(u.Operand) + u.OperatorToken.Text;
            case AssignmentExpressionSyntax a when a.Kind() != SyntaxKind.CoalesceAssignmentExpression:
                return $"{Expr(a.Left)} {a.OperatorToken.Text} {Expr(a.Right)}";
            case ConditionalExpressionSyntax c:
                return $"({Expr(c.Condition)} ? {Expr(c.WhenTrue)} : {Expr(c.WhenFalse)})";
            case CastExpressionSyntax c:
                return $"(({TypeName(_model.GetTypeInfo(c.Type).Type!, c.Type)})({Expr(c.Expression)}))";
            case IdentifierNameSyntax id:
                return Identifier(id);
            case ElementAccessExpressionSyntax ea when ea.ArgumentList.Arguments.Count == 1 && ArrayViewOf(_model.GetTypeInfo(ea.Expression).Type!) is not null:
                return $"{Expr(ea.Expression)}[{Expr(ea.ArgumentList.Arguments[0].Expression)}]";
            case MemberAccessExpressionSyntax ma:
                return Member(ma);
            case InvocationExpressionSyntax inv:
                return Invocation(inv);
            default:
                Report(GeneratorDiagnostics.UnsupportedSyntax, e.GetLocation(), Describe(e));
                return "0";
        }
    }

    private static string? Operator(SyntaxKind kind) => kind switch
    {
        SyntaxKind.AddExpression => "+",
        SyntaxKind.SubtractExpression => "-",
        SyntaxKind.MultiplyExpression => "*",
        SyntaxKind.DivideExpression => "/",
        SyntaxKind.ModuloExpression => "%",
        SyntaxKind.BitwiseAndExpression => "&",
        SyntaxKind.BitwiseOrExpression => "|",
        SyntaxKind.ExclusiveOrExpression => "^",
        SyntaxKind.LeftShiftExpression => "<<",
        SyntaxKind.RightShiftExpression => ">>",
        SyntaxKind.EqualsExpression => "==",
        SyntaxKind.NotEqualsExpression => "!=",
        SyntaxKind.LessThanExpression => "<",
        SyntaxKind.LessThanOrEqualExpression => "<=",
        SyntaxKind.GreaterThanExpression => ">",
        SyntaxKind.GreaterThanOrEqualExpression => ">=",
        SyntaxKind.LogicalAndExpression => "&&",
        SyntaxKind.LogicalOrExpression => "||",
        _ => null,
    };

    private string Identifier(IdentifierNameSyntax id)
    {
        var symbol = _model.GetSymbolInfo(id).Symbol;
        switch (symbol)
        {
            case IParameterSymbol p when ArrayViewOf(p.Type) is not null && id.Parent is ArgumentSyntax:
                return $"{Safe(p.Name)}, {p.Name}_length";
            case IParameterSymbol p when ArrayViewOf(p.Type) is not null && id.Parent is ElementAccessExpressionSyntax:
                return Safe(p.Name);
            case IParameterSymbol p when ArrayViewOf(p.Type) is not null && id.Parent is MemberAccessExpressionSyntax:
                return p.Name;
            case IParameterSymbol p when ArrayViewOf(p.Type) is null:
                return Safe(p.Name);
            case ILocalSymbol l:
                return Safe(l.Name);
            default:
                Report(GeneratorDiagnostics.UnsupportedSyntax, id.GetLocation(), $"Using '{id.Identifier.Text}' this way");
                return "0";
        }
    }

    private string Member(MemberAccessExpressionSyntax ma)
    {
        var symbol = _model.GetSymbolInfo(ma).Symbol;
        var owner = symbol?.ContainingType?.OriginalDefinition.ToDisplayString();
        switch (owner, symbol?.Name)
        {
            case ("Testbed.Kernels.ArrayView<T>", "Length"):
                return $"{Expr(ma.Expression)}_length";
            case ("Testbed.Kernels.ArrayView<T>", "IntLength"):
                return $"((int){Expr(ma.Expression)}_length)";
            case ("Testbed.Kernels.Index1D", "X"):
                return Expr(ma.Expression);
            case ("Testbed.Kernels.Group", "IdxX"):
                return _dialect.GroupIndex;
            case ("Testbed.Kernels.Group", "DimX"):
                return _dialect.GroupSize;
            case ("Testbed.Kernels.Grid", "IdxX"):
                return _dialect.GridIndex;
            case ("Testbed.Kernels.Grid", "DimX"):
                return _dialect.GridSize;
            default:
                Report(GeneratorDiagnostics.UnsupportedSyntax, ma.GetLocation(), $"Member '{ma.Name.Identifier.Text}'");
                return "0";
        }
    }

    private string Invocation(InvocationExpressionSyntax inv)
    {
        if (_model.GetSymbolInfo(inv).Symbol is not IMethodSymbol m)
        {
            Report(GeneratorDiagnostics.UnsupportedCall, inv.GetLocation(), inv.Expression.ToString());
            return "0";
        }

        var args = inv.ArgumentList.Arguments;
        switch (m.ContainingType.ToDisplayString())
        {
            case "Testbed.Kernels.Atomic":
                var target = args[0];
                var type = m.Parameters[0].Type.SpecialType;
                _wideAtomics |= type is SpecialType.System_Int64 or SpecialType.System_UInt64;
                if (!target.RefKindKeyword.IsKind(SyntaxKind.RefKeyword))
                {
                    Report(GeneratorDiagnostics.UnsupportedSyntax, target.GetLocation(), "An atomic target that is not 'ref'");
                }

                return _dialect.Atomic(m.Name, type, $"&{Expr(target.Expression)}", args.Skip(1).Select(a => Expr(a.Expression)).ToArray());
            case "System.Math" when m.Name is "Min" or "Max" && args.Count == 2:
                return $"{m.Name.ToLowerInvariant()}({Expr(args[0].Expression)}, {Expr(args[1].Expression)})";
        }

        if (!HasAttribute(m, DeviceFunctionAttribute) || !m.IsStatic)
        {
            Report(GeneratorDiagnostics.UnsupportedCall, inv.GetLocation(), m.ToDisplayString());
            return "0";
        }

        RequireFunction(m, inv);
        var callArgs = string.Join(", ", args.Select(a => Expr(a.Expression)));
        var hiddenArgs = callArgs.Length == 0 ? _dialect.HiddenArguments.TrimStart(',', ' ') : _dialect.HiddenArguments;
        return $"{EntryName(m)}({callArgs}{hiddenArgs})";
    }

    private string Literal(object? value, SyntaxNode at) => value switch
    {
        int i when i == int.MinValue => "(-2147483647 - 1)",
        int i => i.ToString(CultureInfo.InvariantCulture),
        uint u => u.ToString(CultureInfo.InvariantCulture) + "u",
        long l when l == long.MinValue => $"(-9223372036854775807{_dialect.LongSuffix(false)} - 1)",
        long l => l.ToString(CultureInfo.InvariantCulture) + _dialect.LongSuffix(false),
        ulong u => u.ToString(CultureInfo.InvariantCulture) + _dialect.LongSuffix(true),
        float f => Real(f.ToString("R", CultureInfo.InvariantCulture)) + "f",
        double d => Real(d.ToString("R", CultureInfo.InvariantCulture)),
        bool b => b ? "true" : "false",
        _ => Unsupported(at),
    };

    /// <summary>A C floating literal: "2" becomes "2.0"; exponent forms are already floating.</summary>
    private static string Real(string text) => text.IndexOfAny(new[] { '.', 'E', 'e' }) >= 0 ? text : text + ".0";

    private string Unsupported(SyntaxNode at)
    {
        Report(GeneratorDiagnostics.UnsupportedSyntax, at.GetLocation(), Describe(at));
        return "0";
    }

    private static string Describe(SyntaxNode node) => $"'{node.Kind()}' ({node.ToString().Split('\n')[0].Trim()})";
}
