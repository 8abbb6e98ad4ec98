using Akka.EventDriven.EventBus.Internal;
using Akka.EventDriven.Storage;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>Issue 12: the bus's tables are created again after a failed first attempt (the database was away).</summary>
public sealed class BusStoreSpec
{
    [Fact]
    public async Task A_failed_table_creation_is_retried_by_the_next_call()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"ed-bus-missing-{Guid.NewGuid():N}");
        var store = new BusStore(new StoreSettings(StoreProvider.Sqlite, $"Data Source={Path.Combine(dir, "bus.db")}"));
        await Assert.ThrowsAnyAsync<Exception>(() => store.LoadOffsetAsync("q:x|")); // the directory (the "database") is missing
        Directory.CreateDirectory(dir);
        try
        {
            Assert.Equal(0, await store.LoadOffsetAsync("q:x|"));
            await store.SaveOffsetAsync("q:x|", 5);
            Assert.Equal(5, await store.LoadOffsetAsync("q:x|"));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }
}
