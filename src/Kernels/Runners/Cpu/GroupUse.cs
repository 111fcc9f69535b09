using System.Collections.Concurrent;
using System.Reflection;
using System.Reflection.Emit;

namespace Testbed.Kernels.Runners.Cpu;

/// <summary>
/// Finds what in a kernel needs explicit groups — group or grid indices, barriers, shared memory,
/// warp intrinsics, ILGPU.Algorithms' group and warp extensions — by reading its IL and the IL of the
/// methods it calls in user code. The direct cpu runner calls a kernel once per work item on its own
/// threads: there is no group to synchronise with, so such a kernel is refused when it loads, naming
/// what it uses, instead of running wrong.
/// </summary>
internal static class GroupUse
{
    private const int MaxDepth = 16;

    private static readonly HashSet<string> GroupTypes =
        ["ILGPU.Group", "ILGPU.Grid", "ILGPU.Warp", "ILGPU.SharedMemory", "ILGPU.Algorithms.GroupExtensions", "ILGPU.Algorithms.WarpExtensions"];

    private static readonly ConcurrentDictionary<MethodInfo, string?> Found = new();
    private static readonly OpCode[] OneByte = new OpCode[256];
    private static readonly OpCode[] TwoByte = new OpCode[256];

    static GroupUse()
    {
        foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            if (field.GetValue(null) is OpCode op)
            {
                var value = (ushort)op.Value;
                if (op.Size == 1)
                {
                    OneByte[value] = op;
                }
                else
                {
                    TwoByte[value & 0xFF] = op;
                }
            }
        }
    }

    /// <summary>The first member <paramref name="kernel"/> uses that needs explicit groups (e.g. <c>ILGPU.Group.Barrier</c>), or null when it needs none.</summary>
    public static string? Find(MethodInfo kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        return Found.GetOrAdd(kernel, k => Scan(k, [], 0));
    }

    private static string? Scan(MethodBase method, HashSet<MethodBase> seen, int depth)
    {
        if (depth > MaxDepth || !seen.Add(method) || method.GetMethodBody()?.GetILAsByteArray() is not { } il)
        {
            return null;
        }

        for (var pos = 0; pos < il.Length;)
        {
            var op = il[pos] == 0xFE ? TwoByte[il[pos + 1]] : OneByte[il[pos]];
            pos += op.Size;
            if (op.OperandType == OperandType.InlineMethod && Resolve(method, BitConverter.ToInt32(il, pos)) is { } callee)
            {
                if (callee.DeclaringType?.FullName is { } type && GroupTypes.Contains(type))
                {
                    return $"{type}.{callee.Name}";
                }

                if (IsUserCode(callee) && Scan(callee, seen, depth + 1) is { } found)
                {
                    return found;
                }
            }

            pos += op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + (4 * BitConverter.ToInt32(il, pos)),
                _ => 4,
            };
        }

        return null;
    }

    private static MethodBase? Resolve(MethodBase caller, int token)
    {
        try
        {
            return caller.Module.ResolveMethod(
                token,
                caller.DeclaringType is { IsGenericType: true } t ? t.GetGenericArguments() : null,
                caller.IsGenericMethod ? caller.GetGenericArguments() : null);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Code a kernel author wrote (whose IL the kernel runs), not the framework's or ILGPU's.</summary>
    private static bool IsUserCode(MethodBase method)
    {
        var assembly = method.Module.Assembly;
        var name = assembly.GetName().Name ?? string.Empty;
        return assembly != typeof(object).Assembly && !name.StartsWith("System", StringComparison.Ordinal) && !name.StartsWith("ILGPU", StringComparison.Ordinal);
    }
}
