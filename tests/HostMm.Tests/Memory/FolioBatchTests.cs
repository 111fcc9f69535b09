using Testbed.HostMm.Locking;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Tests.Memory;

public sealed class FolioBatchTests
{
    [Fact]
    public void Release_drops_one_reference_each_frees_only_the_last_ones_and_merges_the_buddies_back()
    {
        using var mem = new PhysicalMemory(new SyncDomain(validate: true), 2L << 20);
        var folios = Enumerable.Range(0, 100).Select(_ => mem.AllocFolio()!).ToArray();
        var kept = folios.Where((_, i) => i % 10 == 0).ToArray();
        foreach (var folio in kept)
        {
            folio.Get();
        }

        var batch = default(FolioBatch);
        foreach (var folio in folios)
        {
            batch.Put(folio);
        }

        // Three full batches were released as they filled (93 folios, 10 of them still referenced);
        // the last 7 wait for Release.
        Assert.Equal(512 - 100 + (3 * FolioBatch.Capacity) - 10, mem.FreeFrames);
        batch.Release();
        Assert.Equal(512 - kept.Length, mem.FreeFrames);
        Assert.All(kept, f => Assert.Equal(1, f.RefCount));
        Assert.All(folios.Except(kept), f => Assert.True(f.IsFree));
        foreach (var folio in kept)
        {
            folio.Put();
        }

        Assert.Equal(1, mem.FreeBlocks(PhysicalMemory.MaxOrder));
    }

    [Fact]
    public void UnlockPut_unlocks_every_folio_and_frees_those_whose_last_reference_it_drops()
    {
        using var mem = new PhysicalMemory(new SyncDomain(validate: true), 2L << 20);
        var folios = Enumerable.Range(0, 40).Select(_ => mem.AllocFolio()!).ToArray();
        var kept = folios.Where((_, i) => i % 4 == 0).ToArray();
        foreach (var folio in folios)
        {
            folio.Lock();
        }

        foreach (var folio in kept)
        {
            folio.Get();
        }

        var batch = default(FolioBatch);
        foreach (var folio in folios)
        {
            batch.UnlockPut(folio);
        }

        batch.Release();
        Assert.All(folios, f => Assert.False(f.IsLocked));
        Assert.All(kept, f => Assert.Equal(1, f.RefCount));
        Assert.Equal(512 - kept.Length, mem.FreeFrames);
        foreach (var folio in kept)
        {
            folio.Put();
        }

        Assert.Equal(1, mem.FreeBlocks(PhysicalMemory.MaxOrder));
    }

    [Fact]
    public void A_reference_dropped_once_too_often_is_still_an_underflow_beside_frozen_folios()
    {
        using var mem = new PhysicalMemory(new SyncDomain(validate: true), 2L << 20);
        var frozen = mem.AllocFolio()!;
        frozen.Lock();
        var gone = mem.AllocFolio()!;
        gone.Put();
        var batch = default(FolioBatch);
        batch.UnlockPut(frozen);
        batch.Put(gone);
        var e = Assert.Throws<InvalidOperationException>(batch.Release);
        Assert.Contains("refcount underflow", e.Message);
    }

    [Fact]
    public unsafe void A_device_folio_freed_by_a_batch_goes_to_its_driver()
    {
        using var mem = new PhysicalMemory(new SyncDomain(validate: true), 2L << 20);
        var ops = new RecordingOps();
        Assert.Equal(Errno.Ok, mem.MemremapPages(PageKind.DevicePrivate, 4, ops, ops, null, out var pagemap));
        var device = pagemap!.PfnToFolio(pagemap.PfnBase + 2);
        pagemap.ZoneDeviceFolioInit(device);
        device.Unlock();
        var system = mem.AllocFolio()!;
        var batch = default(FolioBatch);
        batch.Put(device);
        batch.Put(system);
        Assert.Empty(ops.Freed);
        batch.Release();
        Assert.Equal([device], ops.Freed);
        Assert.Equal(mem.TotalFrames, mem.FreeFrames);
    }

    [Fact]
    public void A_folio_still_mapped_when_its_batch_frees_it_is_a_bad_page()
    {
        using var mem = new PhysicalMemory(new SyncDomain(validate: true), 2L << 20);
        var folio = mem.AllocFolio()!;
        folio.AddMap();
        var batch = default(FolioBatch);
        batch.Put(folio);
        batch.Release();
        Assert.Single(mem.BadPages.Reports);
    }

    private sealed class RecordingOps : IDevPagemapOps
    {
        public List<Folio> Freed { get; } = [];

        public Errno MigrateToRam(in VmFault vmf) => Errno.Ok;

        public void FolioFree(Folio folio) => Freed.Add(folio);
    }
}
