using Akka.EventDriven.EventSourcing.Internal;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>How an aggregate keeps the command ids it remembers: a GUID's 32 lowercase hex digits as 128 bits, anything
/// else as its string; each key gives back the id exactly, and two ids are the same key only when they are the same
/// string.</summary>
public sealed class CommandKeySpec
{
    [Theory]
    [InlineData("0f8fad5bd9cb469fa16570867728950e")] // the repository's own form
    [InlineData("0F8FAD5BD9CB469FA16570867728950E")] // the same digits in capitals: another id
    [InlineData("0f8fad5b-d9cb-469f-a165-70867728950e")] // a GUID with hyphens
    [InlineData("order-42")]
    [InlineData("0f8fad5bd9cb469fa16570867728950g")] // 32 characters, not all hex
    [InlineData("")]
    public void A_key_gives_back_the_id_it_was_made_from(string id) => Assert.Equal(id, CommandKey.Of(id).ToString());

    [Fact]
    public void Ids_are_the_same_key_exactly_when_they_are_the_same_string()
    {
        var ids = new[]
        {
            "0f8fad5bd9cb469fa16570867728950e", "0F8FAD5BD9CB469FA16570867728950E", "0f8fad5b-d9cb-469f-a165-70867728950e",
            Guid.NewGuid().ToString("N"), Guid.NewGuid().ToString("N"), "order-42", "order-43",
        };
        foreach (var a in ids)
        foreach (var b in ids)
        {
            var same = CommandKey.Of(a).Equals(CommandKey.Of(b));
            Assert.True(same == (a == b), $"'{a}' and '{b}': same key {same}");
            if (same) Assert.Equal(CommandKey.Of(a).GetHashCode(), CommandKey.Of(b).GetHashCode());
        }
        var copy = new string("0f8fad5bd9cb469fa16570867728950e".ToCharArray()); // another string instance, equal text
        Assert.Equal(CommandKey.Of("0f8fad5bd9cb469fa16570867728950e"), CommandKey.Of(copy));
    }
}
