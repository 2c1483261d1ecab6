/// One name per TCP socket state whichever tool wrote it: ss's (which are RFC 793's: LISTEN, ESTAB,
/// SYN-SENT, FIN-WAIT-2, TIME-WAIT, CLOSE-WAIT), netstat's (LISTENING, ESTABLISHED, TIME_WAIT), and the
/// localized words: a German Windows's (ABHÖREN, HERGESTELLT, WARTEND, SCHLIESSEN_WARTEN, as public copies
/// of its output show them; the Ö arrives in whatever code page the console used, 0x99 in CP850, read here
/// as U+0099) and Linux net-tools' translations (its de, cs and pt_BR catalogues, read with gettext).
public enum SocketState {
    /// The common name, or nil for a word that is no state we know.
    public static func normalized(_ word: String) -> String? {
        let w = word.uppercased()
        switch w {
        case "LISTENING", "LISTEN": return "LISTEN"
        case "ESTABLISHED", "ESTAB": return "ESTAB"
        case "SYN_SENT", "SYN-SENT", "SYN_SEND": return "SYN-SENT"
        case "SYN_RECEIVED", "SYN_RECV", "SYN-RECV": return "SYN-RECV"
        case "FIN_WAIT1", "FIN_WAIT_1", "FIN-WAIT-1": return "FIN-WAIT-1"
        case "FIN_WAIT2", "FIN_WAIT_2", "FIN-WAIT-2": return "FIN-WAIT-2"
        case "TIME_WAIT", "TIME-WAIT": return "TIME-WAIT"
        case "CLOSE_WAIT", "CLOSE-WAIT": return "CLOSE-WAIT"
        case "LAST_ACK", "LAST-ACK": return "LAST-ACK"
        case "CLOSING": return "CLOSING"
        case "CLOSED", "CLOSE": return "CLOSED"
        case "UNCONN", "UNKNOWN", "BOUND", "DELETE_TCB": return w.split(separator: "_", omittingEmptySubsequences: false).joined(separator: "-")
        // German Windows.
        case "HERGESTELLT": return "ESTAB"
        case "WARTEND": return "TIME-WAIT"
        case "SCHLIESSEN_WARTEN": return "CLOSE-WAIT"
        case "SYN_GESENDET": return "SYN-SENT"
        case "FIN_WARTEN_1": return "FIN-WAIT-1"
        case "FIN_WARTEN_2": return "FIN-WAIT-2"
        case "SCHLIESSEND": return "CLOSING"
        // net-tools: de, cs, pt_BR.
        case "VERBUNDEN", "SPOJENO", "ESTABELECIDA": return "ESTAB"
        case "NASLOUCHÁ", "OUÇA": return "LISTEN"
        case "SYN_ENVIADO": return "SYN-SENT"
        case "SYN_RECEBIDO": return "SYN-RECV"
        case "ESPERA_FIN1": return "FIN-WAIT-1"
        case "ESPERA_FIN2": return "FIN-WAIT-2"
        case "ESPERANDO_FECHAR": return "CLOSE-WAIT"
        case "POSLEDNÍ ACK", "ÚLTIMO_ACK": return "LAST-ACK"
        case "ZAVÍRÁ", "FECHANDO": return "CLOSING"
        case "ZAVŘEN", "FECHAR": return "CLOSED"
        case "UNBEKANNT", "NEZNÁM", "DESCONHECIDA": return "UNKNOWN"
        default:
            // ABHÖREN, with the Ö in any code page (one or two bytes, or a replacement character).
            if w.hasPrefix("ABH"), w.hasSuffix("REN"), (7...8).contains(w.unicodeScalars.count) { return "LISTEN" }
            return nil
        }
    }

    /// What a user types (`--state close_wait`, `LISTENING`) as the views name it.
    public static func userName(_ text: String) -> String {
        normalized(text) ?? text.uppercased().split(separator: "_", omittingEmptySubsequences: false).joined(separator: "-")
    }
}
