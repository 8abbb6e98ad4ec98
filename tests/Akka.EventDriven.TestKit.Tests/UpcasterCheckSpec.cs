using System.Text.Json.Nodes;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.TestKit.Tests;

public sealed record Deposited(decimal Amount, string Currency);

public sealed class UpcasterCheckSpec
{
    // v1 stored cents; v2 stores an amount and a currency.
    private static MessageTypeRegistry Registry(Func<JsonObject, JsonObject>? upcaster = null)
    {
        var registry = new MessageTypeRegistry().Register<Deposited>("ledger.deposited", 2);
        if (upcaster is not null) registry.AddUpcaster("ledger.deposited", 1, upcaster);
        return registry;
    }

    private static JsonObject Correct(JsonObject v1) => new() { ["amount"] = v1["cents"]!.GetValue<int>() / 100m, ["currency"] = "EUR" };

    [Fact]
    public void An_old_event_upgrades_through_the_upcaster_chain_to_the_expected_event()
    {
        UpcasterCheck.Read(Registry(Correct), "ledger.deposited.v1", """{"cents":1250}""")
            .UpgradesTo(new Deposited(12.50m, "EUR"));
        UpcasterCheck.Read(Registry(Correct), "ledger.deposited.v1", """{"cents":1250}""")
            .UpgradesTo<Deposited>(d => Assert.Equal(12.50m, d.Amount));
    }

    [Fact]
    public void A_wrong_upcaster_fails_showing_the_stored_json_what_it_became_and_what_was_expected()
    {
        var forgotCents = Registry(v1 => new JsonObject { ["amount"] = v1["cents"]!.GetValue<int>(), ["currency"] = "EUR" });
        var failure = Assert.Throws<EventDrivenAssertionException>(() =>
            UpcasterCheck.Read(forgotCents, "ledger.deposited.v1", """{"cents":1250}""").UpgradesTo(new Deposited(12.50m, "EUR")));
        Assert.Contains("Stored ledger.deposited.v1 {\"cents\":1250}", failure.Message);
        Assert.Contains("upgrades to ledger.deposited.v2 {\"amount\":1250,\"currency\":\"EUR\"}", failure.Message);
        Assert.Contains("expected    ledger.deposited.v2 {\"amount\":12.50,\"currency\":\"EUR\"}", failure.Message);
        Assert.Contains("($.amount: expected 12.50, actual 1250)", failure.Message);
    }

    [Fact]
    public void A_missing_upcaster_makes_the_old_event_unreadable_and_says_why()
    {
        var noUpcaster = Registry();
        Assert.IsType<UnknownMessageTypeException>(UpcasterCheck.Read(noUpcaster, "ledger.deposited.v1", """{"cents":1250}""").IsUnreadable());

        var failure = Assert.Throws<EventDrivenAssertionException>(() =>
            UpcasterCheck.Read(noUpcaster, "ledger.deposited.v1", """{"cents":1250}""").UpgradesTo(new Deposited(12.50m, "EUR")));
        Assert.Contains("but it cannot be read: UnknownMessageTypeException: Unknown message type 'ledger.deposited.v1': " +
                        "no type is registered for this version and there is no upcaster chain to v2.", failure.Message);

        var readable = Assert.Throws<EventDrivenAssertionException>(() =>
            UpcasterCheck.Read(Registry(Correct), "ledger.deposited.v1", """{"cents":1250}""").IsUnreadable());
        Assert.Contains("was expected to be unreadable, but it upgrades to ledger.deposited.v2", readable.Message);
    }

    [Fact]
    public void A_stored_event_can_be_read_from_a_file_of_type_and_data()
    {
        var file = Path.Combine(Path.GetTempPath(), $"stored-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """{"type":"ledger.deposited.v1","data":{"cents":99}}""");
        try
        {
            UpcasterCheck.ReadFile(Registry(Correct), file).UpgradesTo(new Deposited(0.99m, "EUR"));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
