using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.HostMm.Migrate;
using Testbed.HostMm.Mm;
using Testbed.Results;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Scenarios;

/// <summary>
/// <c>stress</c> (issue 8): seeded random interleavings checked against a shadow copy of every
/// word. A run is a sequence of phases drawn from <c>--seed</c>. Each phase first does one
/// address-space change while nothing else runs — <c>Mprotect</c> read-only (reads checked, then
/// write access restored), <c>Munmap</c> of a random range (a device kernel then adds across the
/// whole mirror: the items that reach the hole must be cancelled by a fatal fault naming only the
/// hole's pages, and every other add must land) and a fresh <c>Mmap</c> there (the shadow becomes
/// zeroes), or <c>Fork</c> (the child must keep the parent's bytes of that moment
/// while the parent goes on writing) — then lets CPU threads, a device kernel and a migration
/// thread (<c>MigrateToDevice</c> of random ranges, <c>EvictAll</c>) run at once, with a compaction
/// adversary moving system pages underneath the whole time. Device memory holds half the pages, so
/// the device's own faults evict too. Every add is commutative, so however the threads interleave the
/// shadow says exactly what each word must hold; after each phase every word is read back through
/// the CPU and a random range through the device.
/// </summary>
/// <remarks>
/// With <c>--thp on</c> the range is 2 MiB-aligned and <c>MADV_HUGEPAGE</c> (whole 2 MiB blocks, at
/// least two) and the mirror uses 2 MiB device folios: CPU writes fault in THPs, the random
/// mprotect/munmap/fork ranges split and share them, small migrations split them, device faults and
/// evictions move them whole, and the compaction adversary moves them whole too.
/// The seed fixes every operation, address and value; only the interleaving of the concurrent part
/// varies between runs, as it would on hardware. A failure names the seed to replay it with.
/// </remarks>
public sealed class StressScenario : IScenario
{
    private readonly Action<AddressSpace, ulong, int>? _sabotage;

    /// <summary>The scenario as the CLI runs it.</summary>
    public StressScenario()
    {
    }

    /// <summary>
    /// For the tests that prove the oracle can fail: <paramref name="sabotage"/> is called after each
    /// phase's concurrent part with the address space, the range's start and the phase, and may write
    /// behind the shadow's back.
    /// </summary>
    internal StressScenario(Action<AddressSpace, ulong, int> sabotage) => _sabotage = sabotage;

    private const int ChunkPages = 8;

    /// <summary>
    /// How long the compaction adversary holds each folio. It sweeps without pause, and every move
    /// invalidates the mirror's whole interval; at tens of microseconds a device fault's
    /// <c>MmuIntervalReadBegin</c>/<c>ReadRetry</c> window never stays clean and the service times
    /// out (a livelock this scenario is not about), so the sweep is slowed to about one move per
    /// millisecond.
    /// </summary>
    private static readonly TimeSpan AdversaryHold = TimeSpan.FromMilliseconds(1);

    /// <summary>The policies run when none are named.</summary>
    /// <remarks>
    /// <c>exclusive</c> joined once two things were fixed: the folio lock hands itself to a sleeper
    /// (the adversary, relocking the few pages still present, starved <c>MakeDeviceExclusive</c>'s
    /// killable lock for seconds), and an atomic fault converts its page under a notifier of its own
    /// that does not count the invalidations its own call causes (<see cref="Driver.ExclusiveFaultNotifier"/>).
    /// </remarks>
    public static IReadOnlyList<string> DefaultPolicies { get; } = ["migrate", "remote", "exclusive"];

    /// <inheritdoc/>
    public string Name => "stress";

    /// <inheritdoc/>
    public string Summary => "seeded random interleavings of CPU threads, device kernels, migrations, evictions, mprotect/munmap/fork and compaction against a shadow copy";

    /// <inheritdoc/>
    public SharedOptions Takes => SharedOptions.Policy | SharedOptions.Pages | SharedOptions.Threads | SharedOptions.Rounds | SharedOptions.Seed | SharedOptions.Coherence;

    /// <inheritdoc/>
    /// <remarks>Measured: up to 62 KiB a page over six phases (forks' copies, the shadow, the verification reads).</remarks>
    public MemoryNeed Memory(ScenarioSettings settings) => new(ThpOption.AnyOn(settings ?? throw new ArgumentNullException(nameof(settings))) ? ThpPages(PagesOf(settings)) : PagesOf(settings), 64L << 10);

    private static int PagesOf(ScenarioSettings s) => s.Pick(s.Pages, 32, 256);

    /// <inheritdoc/>
    public IReadOnlyList<ScenarioOption> Options { get; } = [ThpOption.Option];

    /// <summary>
    /// Pages under <c>--thp on</c>: whole 2 MiB blocks, at least two, so that device memory (half the
    /// pages) is at least one 2 MiB chunk and the device's faults still evict.
    /// </summary>
    private static int ThpPages(int pages) => Math.Max(2 * MirrorDevice.RangeBlockPages, ThpOption.Blocks(pages));

    /// <inheritdoc/>
    public ScenarioResult Run(ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = context.Settings;
        var pages = PagesOf(s);
        var threads = s.Pick(s.Threads, 2, 4);
        var phases = s.Pick(s.Rounds, 20, 200);
        if (pages < 2 * ChunkPages || pages % ChunkPages != 0)
        {
            throw new ScenarioInputException($"stress: --pages {pages} must be a multiple of {ChunkPages}, at least {2 * ChunkPages}");
        }

        var policies = s.Policies ?? DefaultPolicies;
        var thps = ThpOption.Values(context);
        var runs = (from thp in thps
                    from p in policies
                    select new StressRun(context, p, thp ? ThpPages(pages) : pages, threads, phases, thp, thps.Length > 1, _sabotage).Execute()).ToList();
        return new ScenarioResult(Name, new Dictionary<string, string>
        {
            ["pages"] = $"{pages}",
            ["threads"] = $"{threads}",
            ["phases"] = $"{phases}",
            ["seed"] = $"{s.Seed}",
            ["policies"] = string.Join(',', policies),
            ["thp"] = context.Option(ThpOption.Option),
        }, runs);
    }

    /// <summary>One policy's run: the rig, the shadow and the phases.</summary>
    private sealed class StressRun(ScenarioContext context, string policyName, int pages, int threads, int phases, bool thp, bool named, Action<AddressSpace, ulong, int>? sabotage)
    {
        private const int CpuAddsPerPhase = 2000;
        private const int DeviceItems = 64;
        private const int DeviceOpsPerItem = 32;
        private const int VerifyPages = 512;
        private readonly string?[] _state = new string?[threads + 2];
        private readonly List<string> _firstMismatches = [];
        private long _ops;
        private long _verified;
        private long _mismatches;
        private long _forks;
        private long _munmaps;
        private long _fatalFaults;
        private long _mprotects;
        private string? _failure;

        public PolicyRun Execute()
        {
            context.Status($"stress: {policyName}");
            using var rig = new ScenarioRig(context, context.Settings.Coherence, SystemMemory.For(pages));
            var policy = ResidencyPolicies.Create(policyName, pages) ?? throw new ScenarioInputException($"unknown policy '{policyName}'");
            var va = rig.Map(pages, thp);
            var chunk = thp ? MirrorDevice.RangeBlockPages : ChunkPages;
            var mirror = rig.Mirror(va, pages, policy, new MirrorOptions { DevicePages = pages / 2 / chunk * chunk, ChunkPages = chunk, Thp = thp });
            var shadow = new int[pages * rig.WordsPerPage];
            var seed = context.Settings.Seed;
            var progress = ProgressWatchdog.Guard(
                $"stress/{policyName}",
                () =>
                {
                    using var adversary = new CompactionAdversary(rig.Mm, va, va + ((ulong)pages * (ulong)rig.PageSize), AdversaryHold);
                    var rng = new Random(seed);
                    var phase = 0;
                    try
                    {
                        for (; phase < phases; phase++)
                        {
                            Phase(rig, mirror, va, shadow, phase, rng);
                        }
                    }
                    catch (InvalidOperationException e)
                    {
                        // An operation of the model failed where it must not (a device fault that
                        // could not be serviced, a refused mmap): a finding, reported with the seed.
                        _failure = $"phase {phase}: {e.Message}";
                    }
                },
                () => Interlocked.Read(ref _ops) + Interlocked.Read(ref _verified) + mirror.Counters.Launches,
                context.Settings.StallTimeout,
                () => $"{string.Join("; ", _state.Where(x => x is not null))} ({mirror.Activity})");
            if (!progress.Held)
            {
                return rig.Stalled(RunName, policyName, null, progress);
            }

            var c = mirror.Counters;
            var lockdep = rig.Kernel.Sync.Validator.Report is null ? 0 : 1;
            var teardown = rig.TearDown();
            var metrics = new Dictionary<string, Metric>
            {
                ["ops"] = new(_ops, "count"),
                ["mismatches"] = new(_mismatches, "count"),
                ["leaked_frames"] = new(rig.LeakedFrames, "count"),
                ["lockdep_reports"] = new(lockdep, "count"),
                ["migrations"] = new(c.Migrations, "count"),
                ["evicted_pages"] = new(c.EvictedPages, "count"),
                ["exclusive_grants"] = new(c.ExclusiveGrants, "count"),
                ["forks"] = new(_forks, "count"),
                ["munmaps"] = new(_munmaps, "count"),
                ["fatal_faults"] = new(_fatalFaults, "count"),
                ["mprotects"] = new(_mprotects, "count"),
            };
            var oracle = new Invariant(
                "shadow_exact",
                _mismatches == 0,
                _mismatches == 0
                    ? $"every word matched the shadow after each of {phases} phases ({_ops} ops, seed {seed})"
                    : $"{_mismatches} words differed from the shadow (seed {seed}: {Replay(seed)}); first: {string.Join("; ", _firstMismatches)}");
            var replay = Replay(seed);
            var errors = new Invariant("no_errors", _failure is null, _failure is null ? "every operation succeeded" : $"{_failure} (seed {seed}: {replay})");
            rig.AddThpMetrics(metrics, thp);

            return new PolicyRun
            {
                Name = RunName,
                Policy = policyName,
                Settings = new Dictionary<string, string> { ["pages"] = $"{pages}", ["thp"] = ThpOption.Value(thp) },
                Metrics = metrics,
                Invariants = [oracle, errors, progress, .. teardown],
            };
        }

        private string RunName => named ? $"{policyName} thp={ThpOption.Value(thp)}" : policyName;

        /// <summary>The command that replays this run: every setting that decides what it does, the accelerator, the link and the watchdog's window included.</summary>
        private string Replay(int seed)
        {
            var coherence = context.Settings.Coherence switch { LinkCoherence.Coherent => " --coherence coherent", LinkCoherence.NonCoherent => " --coherence noncoherent", _ => string.Empty };
            var stall = context.Settings.StallTimeout == new ScenarioSettings().StallTimeout ? string.Empty : $" --stall-timeout {context.Settings.StallTimeout.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
            return $"replay with `testbed run stress --accelerator {context.Accelerator.Kind.Name()} --policy {policyName} --seed {seed} --pages {pages} --threads {threads} --rounds {phases}{coherence}{stall}{(thp ? " --thp on" : string.Empty)}`";
        }

        private void Phase(ScenarioRig rig, MirrorDevice mirror, ulong va, int[] shadow, int phase, Random rng)
        {
            var wpp = rig.WordsPerPage;
            var (first, count) = RandomRange(rng);
            AddressSpace? child = null;
            int[]? childShadow = null;
            _state[threads] = $"phase {phase}: address-space change";
            switch (rng.Next(4))
            {
                case 0:
                    _mprotects++;
                    ScenarioRig.Check(rig.Mm.Mprotect(Address(rig, va, first), (ulong)count * (ulong)rig.PageSize, Prot.Read), "mprotect read-only");
                    Verify(rig, mirror, va, shadow, phase, rng, "read-only");
                    ScenarioRig.Check(rig.Mm.Mprotect(Address(rig, va, first), (ulong)count * (ulong)rig.PageSize, Prot.ReadWrite), "mprotect read-write");
                    break;
                case 1:
                    _munmaps++;
                    ScenarioRig.Check(rig.Mm.Munmap(Address(rig, va, first), (ulong)count * (ulong)rig.PageSize), "munmap");
                    IntoTheHole(rig, mirror, va, shadow, first, count, rng);
                    ScenarioRig.Check(rig.Mm.Mmap(Address(rig, va, first), (ulong)count * (ulong)rig.PageSize, Prot.ReadWrite, MmapFlags.Private | MmapFlags.Fixed, out _), "mmap fixed");
                    Array.Clear(shadow, first * wpp, count * wpp);
                    break;
                case 2:
                    _forks++;
                    ScenarioRig.Check(rig.Mm.Fork(out child), "fork");
                    childShadow = (int[])shadow.Clone();
                    break;
            }

            Interlocked.Increment(ref _ops);
            using (child)
            {
                Concurrent(rig, mirror, va, shadow, phase, rng);
                sabotage?.Invoke(rig.Mm, va, phase);
                if (child is not null)
                {
                    _state[threads] = $"phase {phase}: checking the fork child";
                    using var cpu = new CpuContext(child);
                    Compare(rig.CpuRead(cpu, va, shadow.Length), childShadow!, 0, phase, "fork child");
                }
            }

            Verify(rig, mirror, va, shadow, phase, rng, "after the phase");
        }

        /// <summary>
        /// Device adds across the whole mirror while pages <c>[first, first + count)</c> are unmapped:
        /// every item that reaches the hole is cancelled there by a fatal fault (UVM's fault cancel),
        /// the run reports exactly the hole's pages it reached, and every add before the hole lands.
        /// </summary>
        private void IntoTheHole(ScenarioRig rig, MirrorDevice mirror, ulong va, int[] shadow, int first, int count, Random rng)
        {
            var wpp = rig.WordsPerPage;
            var work = DeviceWork.Adds(DeviceItems, DeviceOpsPerItem / 4, firstWord: 0, span: shadow.Length, stride: rng.Next(1, 2 * wpp), value: rng.Next(1, 8));
            var reached = new SortedSet<ulong>();
            for (var i = 0; i < work.Items; i++)
            {
                for (var k = 0; k < work.OpsPerItem; k++)
                {
                    var w = work.Target(i, k);
                    if (w / wpp - first is var p && p >= 0 && p < count)
                    {
                        reached.Add(Address(rig, va, (int)(w / wpp)));
                        break;
                    }

                    shadow[w] += work.Value;
                }
            }

            var err = mirror.Run(work);
            Interlocked.Add(ref _ops, work.TotalOps);
            var named = mirror.FatalFaults.Select(f => f.Address).Order().ToList();
            _fatalFaults += named.Count;
            if (err != (reached.Count == 0 ? Errno.Ok : Errno.EFAULT) || !named.SequenceEqual(reached))
            {
                throw new InvalidOperationException($"device adds across a {count}-page hole at page {first}: Run returned {err}, fatal faults at [{string.Join(", ", named.Select(a => $"0x{a:x}"))}], expected {(reached.Count == 0 ? "Ok" : "EFAULT")} at [{string.Join(", ", reached.Select(a => $"0x{a:x}"))}] ({mirror.LastError})");
            }
        }

        /// <summary>CPU threads, the device and the migration thread at once; their adds go into the shadow.</summary>
        private void Concurrent(ScenarioRig rig, MirrorDevice mirror, ulong va, int[] shadow, int phase, Random rng)
        {
            var words = shadow.Length;
            var cpuSeeds = Enumerable.Range(0, threads).Select(_ => rng.Next()).ToArray();
            var span = words - rng.Next(words / 2);
            var work = DeviceWork.Adds(DeviceItems, DeviceOpsPerItem, firstWord: rng.Next(words - span + 1), span, stride: rng.Next(1, 2 * rig.WordsPerPage), value: rng.Next(1, 8));
            var migrationSeed = rng.Next();
            var adds = new (int Word, int Value)[threads][];
            var counts = new int[threads];
            var done = 0;
            var cpus = new ScenarioThreads(threads, "stress cpu", (t, token) =>
            {
                var r = new Random(cpuSeeds[t]);
                var mine = adds[t] = new (int Word, int Value)[CpuAddsPerPhase];
                using var cpu = new CpuContext(rig.Mm);
                _state[t] = $"cpu-{t}: phase {phase}, adds";
                for (var i = 0; i < CpuAddsPerPhase && !token.IsCancellationRequested; i++)
                {
                    var w = r.Next(words);
                    var v = r.Next(1, 100);
                    ScenarioRig.Check(cpu.AtomicAdd(va + ((ulong)w * sizeof(int)), v, out int _), "stress CPU add");
                    mine[counts[t]++] = (w, v);
                    Interlocked.Increment(ref _ops);
                }

                _state[t] = null;
            });
            var migrator = new ScenarioThreads(1, "stress migrations", (_, token) =>
            {
                var r = new Random(migrationSeed);
                while (Volatile.Read(ref done) == 0 && !token.IsCancellationRequested)
                {
                    _state[threads + 1] = $"migrations: phase {phase}";
                    if (r.Next(4) == 0)
                    {
                        mirror.EvictAll();
                    }
                    else
                    {
                        var (first, count) = RandomRange(r);
                        var err = mirror.MigrateToDevice(Address(rig, va, first), count);
                        if (err is not (Errno.Ok or Errno.ENOENT))
                        {
                            throw new InvalidOperationException($"MigrateToDevice returned {err}: {mirror.LastError}");
                        }
                    }

                    Interlocked.Increment(ref _ops);
                    Thread.Sleep(1);
                }

                _state[threads + 1] = null;
            });
            cpus.Start();
            migrator.Start();
            try
            {
                _state[threads] = $"device: phase {phase}, Run";
                ScenarioRig.Check(mirror.Run(work), $"stress device work: {mirror.LastError}");
                Interlocked.Add(ref _ops, work.TotalOps);
                _state[threads] = $"device: phase {phase}, done; joining the CPU threads";
                cpus.Join();
            }
            finally
            {
                Volatile.Write(ref done, 1);
                cpus.Cancel();
            }

            migrator.Join();
            for (var i = 0; i < work.Items; i++)
            {
                for (var k = 0; k < work.OpsPerItem; k++)
                {
                    shadow[work.Target(i, k)] += work.Value;
                }
            }

            // The CPU threads' adds, as they recorded them (a words-sized delta per thread was 256 MiB
            // to allocate and add up at 65536 pages, with no progress for the watchdog meanwhile).
            for (var t = 0; t < threads; t++)
            {
                foreach (var (word, value) in adds[t].AsSpan(0, counts[t]))
                {
                    shadow[word] += value;
                }
            }
        }

        /// <summary>Every word through the CPU, and a random range through the device, against the shadow.</summary>
        private void Verify(ScenarioRig rig, MirrorDevice mirror, ulong va, int[] shadow, int phase, Random rng, string when)
        {
            _state[threads] = $"phase {phase}: checking {when}";
            using (var cpu = new CpuContext(rig.Mm))
            {
                // A block at a time, each one progress for the watchdog: reading 65536 pages word by
                // word takes longer than the stall window.
                var wpp = rig.WordsPerPage;
                for (var block = 0; block < pages; block += VerifyPages)
                {
                    var n = Math.Min(VerifyPages, pages - block);
                    Compare(rig.CpuRead(cpu, Address(rig, va, block), n * wpp), shadow, block * wpp, phase, $"CPU read {when}");
                    Interlocked.Add(ref _verified, n);
                }
            }

            var (first, count) = RandomRange(rng);
            var device = new int[count * rig.WordsPerPage];
            ScenarioRig.Check(mirror.Read(Address(rig, va, first), device), $"device read: {mirror.LastError}");
            Compare(device, shadow, first * rig.WordsPerPage, phase, $"device read {when}");
        }

        private void Compare(int[] actual, int[] shadow, int offset, int phase, string what)
        {
            for (var i = 0; i < actual.Length; i++)
            {
                if (actual[i] != shadow[offset + i])
                {
                    _mismatches++;
                    if (_firstMismatches.Count < 3)
                    {
                        _firstMismatches.Add($"phase {phase}, {what}: word {offset + i} is {actual[i]}, the shadow says {shadow[offset + i]}");
                    }
                }
            }
        }

        private (int First, int Count) RandomRange(Random rng)
        {
            var count = rng.Next(1, Math.Min(pages, 2 * ChunkPages) + 1);
            return (rng.Next(pages - count + 1), count);
        }

        private static ulong Address(ScenarioRig rig, ulong va, int page) => va + ((ulong)page * (ulong)rig.PageSize);
    }
}
