using System;
using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace Testbed.Kernels.Generator.Translation;

/// <summary>What differs between OpenCL C and CUDA C: type names, index queries, atomics, the kernel's shape.</summary>
internal abstract class Dialect
{
    /// <summary>The C type for a supported primitive, or null.</summary>
    public abstract string? Primitive(SpecialType type);

    /// <summary>The parameter declaration of an array view's pointer.</summary>
    public abstract string Pointer(string elementType);

    /// <summary>The length type of an array view.</summary>
    public abstract string LengthType { get; }

    /// <summary>
    /// Whether a kernel's view parameters carry an element offset (OpenCL: a <c>cl_mem</c> cannot be
    /// offset from the host, so a sub-view arrives as its buffer plus the offset the kernel adds).
    /// </summary>
    public virtual bool ViewsCarryOffset => false;

    public abstract string GlobalIndex { get; }

    public abstract string GroupIndex { get; }

    public abstract string GroupSize { get; }

    public abstract string GridIndex { get; }

    public abstract string GridSize { get; }

    /// <summary>The start of a kernel definition: qualifiers and return type.</summary>
    public abstract string KernelQualifier { get; }

    /// <summary>The qualifier of a device function definition.</summary>
    public abstract string FunctionQualifier { get; }

    /// <summary>Text placed before everything else; <paramref name="wideAtomics"/> when a 64-bit atomic is used.</summary>
    public abstract string Prelude(bool wideAtomics);

    /// <summary>Parameters every kernel (after the extent) and device function (last) also takes, with a leading comma; empty for none.</summary>
    public virtual string HiddenParameters => string.Empty;

    /// <summary>The matching arguments a device-function call passes on, with a leading comma.</summary>
    public virtual string HiddenArguments => string.Empty;

    /// <summary>An atomic call: <paramref name="op"/> is Add, Exchange, CompareExchange, Min, Max, And, Or or Xor.</summary>
    public abstract string Atomic(string op, SpecialType type, string pointer, string[] args);

    /// <summary>A literal suffix for a 64-bit signed/unsigned constant.</summary>
    public abstract string LongSuffix(bool unsigned);
}

/// <summary>
/// OpenCL C (built with <c>-cl-std=CL3.0</c>): the 1.x atomic built-ins, 64-bit ones through the
/// cl_khr_int64 extensions, each called through a helper that emulates a non-coherent link: when the
/// target lies in <c>[__nc_lo, __nc_hi)</c> (the accelerator's host mappings, or an empty range) the
/// helper does a plain read, a delay of <c>__nc_delay</c> iterations, and a plain write, under one of
/// 1024 device-side lock words (<c>__nc_locks</c>, by address) so the device's own atomics stay atomic
/// among themselves, as a GPU's do, while a CPU atomic in between is lost.
/// </summary>
internal sealed class OpenClDialect : Dialect
{
    private readonly SortedDictionary<string, string> _helpers = new(StringComparer.Ordinal);

    public override bool ViewsCarryOffset => true;

    public override string HiddenParameters => ", ulong __nc_lo, ulong __nc_hi, int __nc_delay, __global int* __nc_locks";

    public override string HiddenArguments => ", __nc_lo, __nc_hi, __nc_delay, __nc_locks";

    public override string LengthType => "long";

    public override string GlobalIndex => "(int)get_global_id(0)";

    public override string GroupIndex => "(int)get_local_id(0)";

    public override string GroupSize => "(int)get_local_size(0)";

    public override string GridIndex => "(int)get_group_id(0)";

    public override string GridSize => "(int)get_num_groups(0)";

    public override string KernelQualifier => "__kernel void";

    public override string FunctionQualifier => string.Empty;

    public override string? Primitive(SpecialType type) => type switch
    {
        SpecialType.System_Int32 => "int",
        SpecialType.System_UInt32 => "uint",
        SpecialType.System_Int64 => "long",
        SpecialType.System_UInt64 => "ulong",
        SpecialType.System_Single => "float",
        SpecialType.System_Double => "double",
        SpecialType.System_Boolean => "bool",
        _ => null,
    };

    public override string Pointer(string elementType) => $"__global {elementType}*";

    public override string Prelude(bool wideAtomics) =>
        (wideAtomics ? "#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable\n#pragma OPENCL EXTENSION cl_khr_int64_extended_atomics : enable\n" : string.Empty)
        + string.Concat(_helpers.Values);

    public override string Atomic(string op, SpecialType type, string pointer, string[] args)
    {
        var t = Primitive(type)!;
        var wide = type is SpecialType.System_Int64 or SpecialType.System_UInt64;
        var builtin = (wide ? "atom_" : "atomic_") + op switch
        {
            "Add" => "add",
            "Exchange" => "xchg",
            "CompareExchange" => "cmpxchg",
            "Min" => "min",
            "Max" => "max",
            "And" => "and",
            "Or" => "or",
            _ => "xor",
        };
        var helper = $"tb_{op.ToLowerInvariant()}_{t}";
        if (!_helpers.ContainsKey(helper))
        {
            var cas = op == "CompareExchange";
            var parameters = cas ? $"{t} cmp, {t} v" : $"{t} v";
            var store = op switch
            {
                "Add" => "*p = old + v;",
                "Exchange" => "*p = v;",
                "CompareExchange" => "if (old == cmp) *p = v;",
                "Min" => "*p = min(old, v);",
                "Max" => "*p = max(old, v);",
                "And" => "*p = old & v;",
                "Or" => "*p = old | v;",
                _ => "*p = old ^ v;",
            };
            _helpers[helper] =
                $"static {t} {helper}(__global {t}* p, {parameters}, ulong lo, ulong hi, int delay, __global int* locks)\n{{\n" +
                $"    if ((ulong)p >= lo && (ulong)p < hi)\n    {{\n" +
                "        __global int* l = locks + (((ulong)p >> 3) & 1023);\n" +
                "        while (atomic_cmpxchg(l, 0, 1) != 0) { }\n" +
                "        mem_fence(CLK_GLOBAL_MEM_FENCE);\n" +
                $"        {t} old = *(volatile __global {t}*)p;\n" +
                "        for (volatile int s = 0; s < delay; s++) { }\n" +
                $"        {store}\n" +
                "        mem_fence(CLK_GLOBAL_MEM_FENCE);\n" +
                "        atomic_xchg(l, 0);\n" +
                "        return old;\n    }\n" +
                $"    return {builtin}(p, {(cas ? "cmp, v" : "v")});\n}}\n";
        }

        return $"{helper}({pointer}, {string.Join(", ", args)}, __nc_lo, __nc_hi, __nc_delay, __nc_locks)";
    }

    public override string LongSuffix(bool unsigned) => unsigned ? "UL" : "L";
}

/// <summary>CUDA C++ compiled by NVRTC: the atomic intrinsics, 64-bit ones on <c>unsigned long long</c>.</summary>
internal sealed class CudaDialect : Dialect
{
    public override string LengthType => "long long";

    public override string GlobalIndex => "(int)(blockIdx.x * blockDim.x + threadIdx.x)";

    public override string GroupIndex => "(int)threadIdx.x";

    public override string GroupSize => "(int)blockDim.x";

    public override string GridIndex => "(int)blockIdx.x";

    public override string GridSize => "(int)gridDim.x";

    public override string KernelQualifier => "extern \"C\" __global__ void";

    public override string FunctionQualifier => "__device__ ";

    public override string? Primitive(SpecialType type) => type switch
    {
        SpecialType.System_Int32 => "int",
        SpecialType.System_UInt32 => "unsigned int",
        SpecialType.System_Int64 => "long long",
        SpecialType.System_UInt64 => "unsigned long long",
        SpecialType.System_Single => "float",
        SpecialType.System_Double => "double",
        SpecialType.System_Boolean => "bool",
        _ => null,
    };

    public override string Pointer(string elementType) => $"{elementType}*";

    public override string Prelude(bool wideAtomics) => string.Empty;

    public override string Atomic(string op, SpecialType type, string pointer, string[] args)
    {
        var name = op switch
        {
            "Add" => "atomicAdd",
            "Exchange" => "atomicExch",
            "CompareExchange" => "atomicCAS",
            "Min" => "atomicMin",
            "Max" => "atomicMax",
            "And" => "atomicAnd",
            "Or" => "atomicOr",
            _ => "atomicXor",
        };

        // CUDA has no signed 64-bit add/exchange/cas/and/or/xor: use the unsigned form (two's complement).
        if (type == SpecialType.System_Int64 && op is not ("Min" or "Max"))
        {
            var cast = string.Join(", ", Array.ConvertAll(args, a => $"(unsigned long long)({a})"));
            return $"(long long){name}((unsigned long long*)({pointer}), {cast})";
        }

        return $"{name}({pointer}, {string.Join(", ", args)})";
    }

    public override string LongSuffix(bool unsigned) => unsigned ? "ULL" : "LL";
}
